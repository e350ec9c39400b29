"""`tvoxcc agi run`: the FastAGI server alone, as a real process, answering and stopping on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from tests.cli import Tvox


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ask_route(port: int) -> bytes:
    """One `route` request for an unknown DID; returns the first command the server sends."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"agi_network: yes\nagi_network_script: route\nagi_channel: PJSIP/x-1\nagi_arg_1: 5559999\n\n")
        return sock.makefile("rb").readline()


def test_agi_run_serves_every_route_until_sigterm(tvox: Tvox) -> None:
    port = free_port()
    env = {**os.environ, "TVOXCC_CONFIG": str(tvox.config), "TVOXCC_AGI__PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tvoxcc", "agi", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                first = ask_route(port)
                break
            except OSError:
                assert process.poll() is None, process.communicate()[0].decode()
                assert time.monotonic() < deadline, "tvoxcc agi run did not listen in 15 s"
                time.sleep(0.1)
        assert first == b'SET VARIABLE __TVOXCC_TENANT ""\n'
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=10)[0].decode()
        assert process.returncode == 0, output
        assert "FastAGI listening" in output and "Traceback" not in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
