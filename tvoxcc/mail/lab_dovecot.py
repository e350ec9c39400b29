"""A private Dovecot 2.3 IMAP server on loopback, for tests, the demo and the benchmark.

Everything lives in one 0755 folder (config, sockets, state, log, maildirs); mail processes run as
uid/gid 5000 (Dovecot refuses root and low uids), users come from a passwd-file with {PLAIN}
passwords. Started in its own session and stopped by process group: its children outlive the master.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from imapclient import IMAPClient
from pydantic import SecretStr

from tvoxcc.config import MailAccount

MAIL_UID = 5000


def find_dovecot() -> str | None:
    return shutil.which("dovecot") or next((p for p in ("/usr/sbin/dovecot",) if Path(p).exists()), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


CONFIG = """\
base_dir = {base}/run
state_dir = {base}/state
instance_name = tvoxcc-dovecot-{port}
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Ln
mail_location = maildir:{base}/mail/%n
mail_max_userip_connections = 100
first_valid_uid = {uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {base}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={uid} home={base}/mail/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
"""


@dataclass
class LabDovecot:
    base: Path
    port: int
    users: dict[str, str]
    imaps_port: int = 0  # IMAP over TLS, when started with a certificate (the plain port then offers STARTTLS)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    host = "127.0.0.1"

    def client(self, user: str) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(user, self.users[user])
        return client

    def account(
        self,
        user: str,
        *,
        tenant: str,
        service: str,
        address: str,
        folder: str = "INBOX",
        tls: Literal["ssl", "starttls", "none"] = "none",
        cafile: Path | None = None,
    ) -> MailAccount:
        """The [[mail.accounts]] entry that ingests this user's folder (plain IMAP on loopback unless ``tls``)."""
        return MailAccount(
            tenant=tenant,
            service=service,
            imap_host=self.host,
            imap_port=self.imaps_port if tls == "ssl" else self.port,
            imap_user=user,
            imap_password=SecretStr(self.users[user]),
            imap_tls=tls,
            imap_cafile=cafile,
            folder=folder,
            address=address,
        )

    def deliver(self, user: str, raw: bytes | list[bytes], folder: str = "INBOX") -> None:
        """APPEND one mail, or many at once (MULTIAPPEND: ~5x faster for seeding)."""
        client = self.client(user)
        try:
            if isinstance(raw, bytes):
                client.append(folder, raw)
            else:
                client.multiappend(folder, raw)
        finally:
            client.logout()

    def start(self, timeout: float = 10.0) -> None:
        binary = find_dovecot()
        if binary is None:
            raise FileNotFoundError("dovecot not installed (apt-get install dovecot-imapd)")
        self.process = subprocess.Popen(
            [binary, "-F", "-c", str(self.base / "dovecot.conf")],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise RuntimeError(f"dovecot exited at start: {err.strip()[:500]} (log: {self.base / 'dovecot.log'})")
            if self._serves():
                return
            time.sleep(0.02)
        self.stop(remove=False)
        raise TimeoutError(f"dovecot not ready on 127.0.0.1:{self.port} after {timeout}s")

    def _serves(self) -> bool:
        # A LOGIN OK proves nothing (a mail process may fail right after): only a SELECT does.
        try:
            client = IMAPClient(self.host, port=self.port, ssl=False, timeout=2)
        except OSError:
            return False
        try:
            user = next(iter(self.users))
            client.login(user, self.users[user])
            client.select_folder("INBOX")
            return True
        finally:
            try:
                client.logout()
            except Exception:
                client.shutdown()

    def stop(self, *, remove: bool = True) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        if process is not None:
            # imap children keep serving clients after the master exits: end the whole group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            if process.stderr:
                process.stderr.close()
        if remove:
            shutil.rmtree(self.base, ignore_errors=True)


def start_dovecot(
    users: dict[str, str], *, base: Path | None = None, port: int | None = None, tls: tuple[Path, Path] | None = None
) -> LabDovecot:
    """A running private Dovecot with these users (name -> password) and empty INBOXes.

    ``tls`` (certificate PEM, key PEM) adds IMAPS on ``imaps_port`` and STARTTLS on the plain port.
    """
    base = base or Path(tempfile.mkdtemp(prefix="tvd-"))  # short: unix socket paths are limited
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)  # Dovecot drops privileges: every directory on the path must be traversable
    for sub in ("run", "state", "mail"):
        (base / sub).mkdir(exist_ok=True)
    os.chmod(base / "mail", 0o755)
    if os.geteuid() == 0:
        os.chown(base / "mail", MAIL_UID, MAIL_UID)
    port = port or free_port()
    (base / "users").write_text("".join(f"{name}:{{PLAIN}}{password}\n" for name, password in users.items()))
    ssl, imaps_port = "ssl = no", 0
    if tls is not None:
        shutil.copy(tls[0], base / "cert.pem")
        shutil.copy(tls[1], base / "key.pem")
        os.chmod(base / "key.pem", 0o600)
        ssl, imaps_port = f"ssl = yes\nssl_cert = <{base}/cert.pem\nssl_key = <{base}/key.pem", free_port()
    config = CONFIG.format(base=base, port=port, uid=MAIL_UID, ssl=ssl, imaps_port=imaps_port)
    (base / "dovecot.conf").write_text(config)
    server = LabDovecot(base, port, dict(users), imaps_port)
    server.start()
    return server
