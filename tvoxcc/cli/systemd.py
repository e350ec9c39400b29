"""`tvoxcc systemd render --role main|support|db`: the units each host role runs (Restart=always, ordered)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import click

from tvoxcc.cli._common import fail
from tvoxcc.systemd.units import DEFAULT_BIN, DEFAULT_CONFIG, HostRole, render_role


@click.group()
def systemd() -> None:
    """systemd units for the hosts of a deployment (main, main2, support, db)."""


@systemd.command()
@click.option("--role", required=True, type=click.Choice([r.value for r in HostRole]), help="The host's role.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the unit files here (e.g. /etc/systemd/system). Default: print them.",
)
@click.option("--bin", "tvoxcc_bin", default=str(DEFAULT_BIN), show_default=True, help="The tvoxcc executable.")
@click.option("--config", "config", default=str(DEFAULT_CONFIG), show_default=True, help="tvoxcc.toml on that host.")
def render(role: str, out_dir: Path | None, tvoxcc_bin: str, config: str) -> None:
    """Render the role's units; then `systemctl daemon-reload && systemctl enable --now tvoxcc-*.service`."""
    for what, value in (("--bin", tvoxcc_bin), ("--config", config)):
        if not value.startswith("/"):
            fail(f"{what} {value!r}: systemd needs an absolute path")
    units = render_role(HostRole(role), PurePosixPath(tvoxcc_bin), PurePosixPath(config))
    if out_dir is None:
        for name, text in units.items():
            click.echo(f"# ---- {name}\n{text}")
        return
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, text in units.items():
            (out_dir / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write units into {out_dir}: {exc.strerror or exc}")
    click.echo(f"systemd: wrote {', '.join(units)} into {out_dir}", err=True)
