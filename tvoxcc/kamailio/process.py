"""Run Kamailio in the foreground in its own session (in a lab host's namespace), tracked by a PID file."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from tvoxcc.lab import process
from tvoxcc.lab.errors import LabError
from tvoxcc.lab.netns import in_namespace

READY_TIMEOUT = 15.0


def kamailio_binary() -> str:
    path = shutil.which("kamailio") or ("/usr/sbin/kamailio" if Path("/usr/sbin/kamailio").exists() else None)
    if path is None:
        raise LabError("kamailio not found: apt-get install kamailio (scripts/system-deps.sh)")
    return path


def start(config: Path, run_dir: Path, pid_file: Path, out_log: Path, namespace: str) -> int:
    """Start Kamailio on ``config``; -DD keeps the main process in front (its workers are its children)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    command = [kamailio_binary(), "-f", str(config), "-DD", "-E", "-Y", str(run_dir), "-w", str(run_dir)]
    with out_log.open("ab") as out:
        child = subprocess.Popen(
            in_namespace(namespace, command),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd="/",
        )
    temp = pid_file.with_suffix(".tmp")
    temp.write_text(f"{child.pid}\n")
    temp.replace(pid_file)
    return child.pid


def wait_ready(pid: int, port: int, namespace: str, out_log: Path) -> None:
    """Until the process holds its UDP port (config errors end it at once: say so with its log)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if not process.alive(pid):
            tail = "\n".join(out_log.read_text(errors="replace").splitlines()[-15:])
            raise LabError(f"Kamailio exited during start; last lines of {out_log}:\n{tail}")
        if ("udp", port) in {(proto, p) for proto, _, p in process.sockets(pid, namespace)}:
            return
        time.sleep(0.1)
    raise LabError(f"Kamailio did not bind udp/{port} within {READY_TIMEOUT:.0f} s (see {out_log})")


def is_ours(pid: int) -> bool:
    if not process.alive(pid):
        return False
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "kamailio"
    except OSError:
        return False
