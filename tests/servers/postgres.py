"""A private PostgreSQL server for tests: its own cluster in a temp dir, on a free loopback port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def find_pg_bin() -> Path | None:
    for directory in PG_BIN_DIRS:
        if (directory / "initdb").exists() and (directory / "postgres").exists():
            return directory
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    base: Path
    port: int
    process: subprocess.Popen[bytes]

    address: str = "127.0.0.1"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.address}:{self.port}/{database}"

    def crash(self) -> None:
        """The host gone: every process of the server killed at once, no shutdown, files kept."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def stop(self) -> None:
        if self.process.poll() is None:
            # SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for clients.
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        shutil.rmtree(self.base, ignore_errors=True)


# initdb and postgres refuse to run as root.
PG_USER = "postgres" if os.geteuid() == 0 else None


# The settings of every test server: durability off (tests need speed, not crash safety).
FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200"}


def server_base() -> Path:
    """A directory for one server's files, traversable by the postgres user the server drops to."""
    base = Path(tempfile.mkdtemp(prefix="tvoxcc-pg-"))
    base.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    return base


def start_postgres(
    settings: dict[str, str] | None = None, *, namespace: str | None = None, address: str = "127.0.0.1"
) -> PostgresServer:
    """A new cluster (initdb) started with ``FAST`` and then ``settings``; ``namespace``: a lab host's network
    namespace (tvoxcc.lab.netns) to run in, listening on the host's ``address``, trusting its /24."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL server binaries not found under /usr/lib/postgresql")
    base = server_base()
    data = base / "data"
    subprocess.run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
        user=PG_USER,
        group=PG_USER,
    )
    if address != "127.0.0.1":
        subnet = address.rsplit(".", 1)[0] + ".0/24"
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {subnet} trust\n")
    return run_postgres(base, data, {**FAST, **(settings or {})}, namespace=namespace, address=address)


def run_postgres(
    base: Path, data: Path, settings: dict[str, str], *, namespace: str | None = None, address: str = "127.0.0.1"
) -> PostgresServer:
    """The server on an existing data directory (a new cluster, or a standby's copy) on a free port; ready
    when it answers a query. Stopping it removes ``base``."""
    bin_dir = find_pg_bin()
    assert bin_dir is not None
    sockets = base / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(sockets, "postgres", "postgres")
    port = free_port()
    options = [
        f"listen_addresses={address}",
        f"unix_socket_directories={sockets}",
        *(f"{k}={v}" for k, v in settings.items()),
    ]
    command = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), *(a for o in options for a in ("-c", o))]
    user = PG_USER
    if namespace is not None:  # entering a namespace needs root: drop to postgres inside it
        command = ["ip", "netns", "exec", namespace, "runuser", "-u", "postgres", "--", *command]
        user = None
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=open(base / "server.log", "wb"),  # noqa: SIM115 - owned by the child
        start_new_session=True,
        user=user,
        group=user,
    )
    server = PostgresServer(base, port, process, address)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"postgres exited: {(base / 'server.log').read_text()[-2000:]}")
        # The port opens before queries work: poll with a real query.
        ready = subprocess.run(
            [
                str(bin_dir / "psql") if (bin_dir / "psql").exists() else "psql",
                "-h",
                address,
                "-p",
                str(port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-Atc",
                "select 1",
            ],
            capture_output=True,
        )
        if ready.returncode == 0:
            return server
        time.sleep(0.1)
    server.stop()
    raise TimeoutError("postgres did not accept queries within 20 s")
