"""Make an extracted lab root ready to run Asterisk with no mounts: run/spool dirs, name resolution, configs."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from tvoxcc.lab.errors import LabError

# Directories Asterisk writes to; the package made most of them, the rest are runtime-only.
_WRITABLE = (
    "run/asterisk",
    "var/lib/asterisk",
    "var/log/asterisk",
    "var/spool/asterisk",
    "var/spool/asterisk/recording",
    "var/cache/asterisk",
)


@dataclass(frozen=True)
class ChrootUser:
    uid: int
    gid: int


def asterisk_user(root: Path) -> ChrootUser:
    """The chroot's own asterisk uid/gid (from its /etc/passwd, not the host's)."""
    passwd = root / "etc/passwd"
    for line in passwd.read_text(encoding="utf-8").splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == "asterisk":
            return ChrootUser(int(fields[2]), int(fields[3]))
    raise LabError(f"no asterisk user in {passwd}: the lab image is broken, delete it and run `tvoxcc lab up` again")


def prepare(root: Path) -> ChrootUser:
    user = asterisk_user(root)
    for relative in _WRITABLE:
        path = root / relative
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, user.uid, user.gid)
    # No DNS from inside the lab: everything it talks to is on loopback.
    resolv = root / "etc/resolv.conf"
    if resolv.is_symlink() or resolv.exists():
        resolv.unlink()
    resolv.write_text("")
    # Asterisk resolves the host name (shared with the host kernel) at start; answer it locally.
    hostname = socket.gethostname()
    (root / "etc/hosts").write_text(f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n::1\tlocalhost ip6-localhost\n")
    return user
