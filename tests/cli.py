"""Run the `tvoxcc` CLI in-process against a private config and database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner, Result

from tests.servers.dovecot import SUPPORT_ADDRESS, LabDovecot
from tests.servers.smtp import SmtpSink
from tvoxcc.cli.main import cli


@dataclass
class Tvox:
    config: Path

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(
            cli, list(args), input=input, env={"TVOXCC_CONFIG": str(self.config), **(env or {})}, catch_exceptions=False
        )

    def ok(self, *args: str, input: str | None = None) -> str:
        result = self(*args, input=input)
        assert result.exit_code == 0, f"{args}: exit {result.exit_code}\n{result.output}"
        return result.output

    def fails(self, *args: str, input: str | None = None) -> str:
        """Run a command that must be refused: non-zero exit and one `error:` line per problem."""
        result = self(*args, input=input)
        assert result.exit_code != 0, f"{args} should have failed:\n{result.output}"
        assert "Traceback" not in result.output
        assert result.output.strip().startswith("error:") or "Error:" in result.output, result.output
        return result.output


def make_tvox(tmp_path: Path, db_url: str | None = None) -> Tvox:
    tvox = Tvox(tmp_path / "tvoxcc.toml")
    args = ["init", "--data-dir", str(tmp_path / "data")]
    if db_url:
        args += ["--database", db_url]
    tvox.ok(*args)
    return tvox


def mail_desk(tvox: Tvox, dovecot: LabDovecot, smtp: SmtpSink, password: str) -> Tvox:
    """Tenant acme with a mail service whose mailbox is ``dovecot``'s "support" and whose SMTP is ``smtp``."""
    with tvox.config.open("a") as config:
        config.write(
            f'\n[mail.smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\ntls = "none"\n\n'
            f'[[mail.accounts]]\ntenant = "acme"\nservice = "support"\nimap_host = "127.0.0.1"\n'
            f'imap_port = {dovecot.port}\nimap_user = "support"\nimap_password = "{password}"\nimap_tls = "none"\n'
            f'address = "{SUPPORT_ADDRESS}"\n'
        )
    tvox.ok("tenant", "add", "acme", "--display-name", "ACME S.p.A.")
    tvox.ok("service", "add", "-t", "acme", "support", "--channel", "mail")
    return tvox
