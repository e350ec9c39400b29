"""Start and stop the one Asterisk process of a lab root, tracked by a PID file, never found by name."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from tvoxcc.lab.errors import LabError
from tvoxcc.lab.image import CHROOT_ENV

ASTERISK_ARGS = ("/usr/sbin/asterisk", "-f", "-n", "-U", "asterisk", "-G", "asterisk")


def start(root: Path, pid_file: Path, out_log: Path, namespace: str | None = None) -> int:
    """Start Asterisk in the chroot in its own session (in network ``namespace`` if given); `ip netns exec`
    and `chroot` both exec, so the PID is Asterisk's."""
    command = ["chroot", str(root), *ASTERISK_ARGS]
    if namespace is not None:
        command = ["ip", "netns", "exec", namespace, *command]
    with out_log.open("ab") as out:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd="/",
            env=CHROOT_ENV,
        )
    temp = pid_file.with_suffix(".tmp")
    temp.write_text(f"{process.pid}\n")
    temp.replace(pid_file)
    return process.pid


def read_pid(pid_file: Path) -> int | None:
    try:
        text = pid_file.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def _state(pid: int) -> str | None:
    """The process state letter from /proc, or None when the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # Field 3, after the parenthesised command name (which may itself hold spaces or parens).
    return stat.rsplit(")", 1)[1].split()[0]


def alive(pid: int) -> bool:
    _reap(pid)
    state = _state(pid)
    return state is not None and state not in ("Z", "X")


def _reap(pid: int) -> None:
    # When this process started Asterisk (tests), collect the zombie so /proc/<pid> disappears.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def is_ours(pid: int, root: Path) -> bool:
    """True only for an asterisk process whose root directory is this lab's root."""
    if not alive(pid):
        return False
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        proc_root = os.readlink(f"/proc/{pid}/root")
    except OSError:
        return False
    return comm == "asterisk" and Path(proc_root) == root.resolve()


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        # start_new_session made Asterisk a group leader: its children go with it.
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stop(pid: int, timeout: float = 10.0) -> bool:
    """SIGTERM the process group, SIGKILL after ``timeout``; True when it had to be killed."""
    _signal_group(pid, signal.SIGTERM)
    if _wait_gone(pid, timeout):
        return False
    _signal_group(pid, signal.SIGKILL)
    if not _wait_gone(pid, 5.0):
        raise LabError(f"Asterisk (pid {pid}) survived SIGKILL")
    return True


_SS_LINE = re.compile(r"^(\S+)\s+\S+\s+\S+\s+\S+\s+(\S+)\s+\S+\s*(.*)$")


def _ephemeral_range() -> range:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(32768, 61000)


def sockets(pid: int, namespace: str | None = None) -> list[tuple[str, str, int]]:
    """Listening TCP and bound UDP sockets of ``pid`` as (proto, address, port), from `ss` (in ``namespace``)."""
    command = ["ss", "-lntupH"] if namespace is None else ["ip", "netns", "exec", namespace, "ss", "-lntupH"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    found = []
    for line in result.stdout.splitlines():
        match = _SS_LINE.match(line)
        if match and f"pid={pid}," in match.group(3):
            address = match.group(2)
            found.append((match.group(1), address, int(address.rsplit(":", 1)[1])))
    return found


def wildcard_sockets(pid: int, namespace: str | None = None) -> list[tuple[str, str, int]]:
    """Sockets of ``pid`` bound to every address (0.0.0.0, [::], *)."""
    return [s for s in sockets(pid, namespace) if s[1].startswith(("0.0.0.0:", "[::]:", "*:"))]


def wildcard_listeners(pid: int, own_udp_ports: frozenset[int], namespace: str | None = None) -> list[str]:
    """Wildcard sockets that are a real exposure.

    Allowed: PJSIP's DNS client (pj_dns_resolver), one UDP socket per address family on an ephemeral
    port. Asterisk creates it whenever glibc reports a nameserver, and glibc reports 127.0.0.1 even for
    an empty resolv.conf; no setting turns it off. It only takes replies to its own queries.
    """
    ephemeral = _ephemeral_range()
    exposed = []
    dns_client = 0
    for proto, address, port in wildcard_sockets(pid, namespace):
        if proto == "udp" and port in ephemeral and port not in own_udp_ports and dns_client < 2:
            dns_client += 1
            continue
        exposed.append(f"{proto} {address}")
    return exposed
