"""One lab instance: a state dir holding its own root, PID file and logs, so tests and the demo never clash.

state_dir/root/            the extracted Debian sid root (Asterisk's config in root/etc/asterisk)
state_dir/asterisk.pid     the PID of the Asterisk this lab started
state_dir/asterisk.out     Asterisk's stdout/stderr
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tvoxcc.asterisk.inputs import RenderInput
from tvoxcc.asterisk.render import write_configs
from tvoxcc.config import Settings
from tvoxcc.lab import image, process, rootfs
from tvoxcc.lab.errors import LabError
from tvoxcc.lab.health import ari_info
from tvoxcc.lab.mirror import debian_mirror

READY_TIMEOUT = 60.0
_MARKER = ".tvoxcc-lab-image"


def _say_stderr(message: str) -> None:
    print(f"lab: {message}", file=sys.stderr, flush=True)


def ensure_rootfs(settings: Settings, root: Path, say: Callable[[str], None]) -> None:
    """The image extracted into ``root``, unless that root was extracted from this very tarball."""
    tarball = image.ensure_image(settings.lab.cache_dir, settings.lab.mirror or debian_mirror(), say)
    stat = tarball.stat()
    stamp = f"{tarball} {stat.st_size} {stat.st_mtime_ns}\n"
    marker = root / _MARKER
    if marker.is_file() and marker.read_text() == stamp:
        say(f"reusing {root}")
        return
    # Debian's sample configs stay: the lab looks like an admin's Asterisk, tvoxcc overwrites its own files.
    image.extract_image(tarball, root, say)
    marker.write_text(stamp)


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (debootstrap and chroot): run it as root")


@dataclass
class Lab:
    settings: Settings
    state_dir: Path
    say: Callable[[str], None] = field(default=_say_stderr)
    namespace: str | None = None  # the network namespace Asterisk runs in (a topology's node); None: the machine's

    @classmethod
    def default(cls, settings: Settings, say: Callable[[str], None] = _say_stderr) -> Lab:
        return cls(settings, settings.data_dir / "lab", say)

    @property
    def root(self) -> Path:
        return self.state_dir / "root"

    @property
    def config_dir(self) -> Path:
        return self.root / "etc/asterisk"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "asterisk.pid"

    @property
    def out_log(self) -> Path:
        return self.state_dir / "asterisk.out"

    @property
    def full_log(self) -> Path:
        return self.root / "var/log/asterisk/full"

    def running_pid(self) -> int | None:
        """The PID from the PID file if that process is still this lab's Asterisk."""
        pid = process.read_pid(self.pid_file)
        if pid is not None and process.is_ours(pid, self.root):
            return pid
        return None

    def _ensure_root(self) -> None:
        ensure_rootfs(self.settings, self.root, self.say)

    def render(self, inp: RenderInput) -> None:
        user = rootfs.asterisk_user(self.root)
        write_configs(inp, self.config_dir, group_id=user.gid)

    def up(self, inp: RenderInput | None = None) -> int:
        """Build/extract the root, render configs, start Asterisk, wait for ARI; returns the PID."""
        require_root()
        started = time.monotonic()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.chmod(0o755)  # Asterisk drops to its own user: the path must be traversable
        with image.locked(self.state_dir / ".lock", self.say, "lab command on this state dir"):
            pid = self.running_pid()
            if pid is not None:
                self.say(f"already running (pid {pid})")
                return pid
            self._ensure_root()
            rootfs.prepare(self.root)
            self.render(inp or RenderInput.from_settings(self.settings))
            self.say("starting Asterisk")
            pid = process.start(self.root, self.pid_file, self.out_log, self.namespace)
            try:
                self._wait_ready(pid)
                self._check_listeners(pid)
            except BaseException:
                process.stop(pid)
                self.pid_file.unlink(missing_ok=True)
                raise
        self.say(f"Asterisk up (pid {pid}, ARI {self.settings.asterisk.ari_url}) in {time.monotonic() - started:.1f} s")
        return pid

    def _wait_ready(self, pid: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if not process.alive(pid):
                raise LabError(
                    f"Asterisk exited during start; last lines of {self.out_log}:\n{self._tail(self.out_log)}"
                )
            if ari_info(self.settings.asterisk, timeout=1.0) is not None:
                return
            time.sleep(0.1)
        raise LabError(f"ARI at {self.settings.asterisk.ari_url} did not answer within {READY_TIMEOUT:.0f} s")

    def _check_listeners(self, pid: int) -> None:
        ast = self.settings.asterisk
        own_udp = frozenset(range(ast.rtp_start, ast.rtp_end + 1)) | {ast.sip_port}
        wide = process.wildcard_listeners(pid, own_udp, self.namespace)
        if wide:
            raise LabError(f"Asterisk listens on every address ({', '.join(wide)}): refusing to keep it running")
        # ARI may have answered from another process holding the port: make sure the ports are this one's.
        ari_port = RenderInput.from_settings(self.settings).ari_port
        wanted = {("tcp", ari_port): "ARI", ("tcp", ast.ami_port): "AMI", ("udp", ast.sip_port): "SIP"}
        deadline = time.monotonic() + 5.0  # modules may still be loading when ARI first answers
        while True:
            own = {(proto, port) for proto, _, port in process.sockets(pid, self.namespace)}
            taken = [f"{what} {proto}/{port}" for (proto, port), what in wanted.items() if (proto, port) not in own]
            if not taken:
                return
            if time.monotonic() > deadline:
                where = f"in use by another process? (see {self.full_log})"
                raise LabError(f"Asterisk could not bind {', '.join(taken)}: {where}")
            time.sleep(0.1)

    def down(self) -> int | None:
        """Stop the Asterisk of the PID file (SIGTERM, then SIGKILL); returns its PID, None if none ran."""
        require_root()
        with image.locked(self.state_dir / ".lock", self.say, "lab command on this state dir"):
            recorded = process.read_pid(self.pid_file)
            pid = self.running_pid()
            if pid is None:
                if recorded is not None:
                    self.say(f"stale PID file (pid {recorded} is not this lab's Asterisk): removed")
                self.pid_file.unlink(missing_ok=True)
                return None
            killed = process.stop(pid)
            self.pid_file.unlink(missing_ok=True)
        self.say(f"Asterisk stopped (pid {pid}{', killed' if killed else ''})")
        return pid

    def status(self) -> dict[str, Any]:
        pid = self.running_pid()
        info = ari_info(self.settings.asterisk) if pid is not None else None
        system = (info or {}).get("system", {})
        return {
            "state_dir": str(self.state_dir),
            "root": str(self.root),
            "running": pid is not None,
            "pid": pid,
            "ari_url": self.settings.asterisk.ari_url,
            "ari_ok": info is not None,
            "asterisk_version": system.get("version") if isinstance(system, dict) else None,
            "sip": f"{self.settings.asterisk.sip_host}:{self.settings.asterisk.sip_port}",
            "ami": f"{self.settings.asterisk.ami_host}:{self.settings.asterisk.ami_port}",
            "image": str(self.settings.lab.cache_dir / image.TARBALL_NAME),
            "image_cached": (self.settings.lab.cache_dir / image.TARBALL_NAME).is_file(),
        }

    @staticmethod
    def _tail(path: Path, lines: int = 20) -> str:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def log_tail(self, lines: int = 50) -> str:
        return self._tail(self.full_log if self.full_log.exists() else self.out_log, lines)
