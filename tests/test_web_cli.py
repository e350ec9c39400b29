"""`tvoxcc web run` as a real process: serves, logs a user in, refuses a taken port with one error line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.cli import Tvox

PASSWORD = "a long password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start(tvox: Tvox, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TVOXCC_CONFIG": str(tvox.config)}
    return subprocess.Popen(
        [sys.executable, "-m", "tvoxcc", "web", "run", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip


def wait_healthy(port: int, proc: subprocess.Popen[bytes], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if json.load(response) == {"status": "ok"}:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("web app not healthy in time")


def stop(proc: subprocess.Popen[bytes]) -> str:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    return err.decode()


def supervisor(tvox: Tvox) -> None:
    tvox.ok("tenant", "add", "acme")
    tvox.ok("user", "add", "sara", "--role", "supervisor", "-t", "acme", "--password-stdin", input=PASSWORD + "\n")


def login(port: int) -> str:
    """sara's session cookie ("name=value")."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/login", method="POST",
        data=json.dumps({"username": "sara", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.load(response)["user"]["tenant"] == "acme"
        return str(response.headers["Set-Cookie"].split(";", 1)[0])


def test_web_run_serves_logs_in_and_keeps_passwords_out_of_logs(tvox: Tvox, tmp_path: Path) -> None:
    supervisor(tvox)
    port = free_port()
    proc = start(tvox, port)
    try:
        wait_healthy(port, proc)
        cookie = login(port)
        me = urllib.request.Request(f"http://127.0.0.1:{port}/api/me", headers={"Cookie": cookie})
        with urllib.request.urlopen(me, timeout=5) as response:
            assert json.load(response)["username"] == "sara"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/tenants/acme/queues", timeout=5)
            raise AssertionError("no login, but data")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
    finally:
        log = stop(proc)
    assert "sara logged in" in log
    assert PASSWORD not in log and cookie.split("=", 1)[1] not in log


def test_web_run_refuses_a_taken_port(tvox: Tvox) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = tvox("web", "run", "--port", str(port))
    assert result.exit_code == 1
    assert f"error: cannot listen on 127.0.0.1:{port}" in result.output


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before {marker!r}: {data!r}"
        data += chunk
    return data


def test_web_run_ends_open_event_streams_and_exits_on_sigterm(tvox: Tvox) -> None:
    """A wallboard left open must not keep the service from stopping (systemd would wait, then kill it)."""
    supervisor(tvox)
    port = free_port()
    proc = start(tvox, port)
    try:
        wait_healthy(port, proc)
        cookie = login(port)
        with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            sock.sendall(
                f"GET /api/tenants/acme/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
                "Accept: text/event-stream\r\n\r\n".encode()
            )
            received = read_until(sock, b"event: summary")  # the stream is open and has sent its first figures
            assert received.startswith(b"HTTP/1.1 200 OK")
            sent = time.monotonic()
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                _, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                raise AssertionError("tvoxcc web run still running 10 s after SIGTERM with a stream open") from None
            elapsed = time.monotonic() - sent
            while chunk := sock.recv(65536):
                received += chunk
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    print(f"web run exited {elapsed:.2f} s after SIGTERM with an event stream open")
    assert proc.returncode == 0, err.decode()
    assert received.endswith(b"\r\n0\r\n\r\n")  # the chunked body's last chunk: the stream was ended, not cut
