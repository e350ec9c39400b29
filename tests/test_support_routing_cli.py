"""`tvoxcc support` routing and SLA through the CLI, with mail from a real Dovecot and acknowledgements to SMTP.

Also the per-sender rate limit end to end: a flood from one address makes no tickets and no acknowledgements.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.cli import Tvox
from tests.servers.dovecot import SUPPORT_ADDRESS, LabDovecot, dovecot_or_missing
from tests.servers.smtp import SmtpSink


@pytest.fixture
def dovecot() -> Iterator[LabDovecot]:
    server = dovecot_or_missing({"support": "route-pw"})
    yield server
    server.stop()


@pytest.fixture
def desk(tvox: Tvox, dovecot: LabDovecot, smtp: SmtpSink) -> Tvox:
    with tvox.config.open("a") as config:
        config.write(
            "\n[mail]\nsender_limit = 2\nsender_window_minutes = 10\n"
            f'\n[mail.smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\ntls = "none"\n\n'
            f'[[mail.accounts]]\ntenant = "acme"\nservice = "support"\nimap_host = "127.0.0.1"\n'
            f'imap_port = {dovecot.port}\nimap_user = "support"\nimap_password = "route-pw"\nimap_tls = "none"\n'
            f'address = "{SUPPORT_ADDRESS}"\n'
        )
    tvox.ok("tenant", "add", "acme")
    tvox.ok("service", "add", "-t", "acme", "support", "--channel", "mail", "--first-response-minutes", "60")
    tvox.ok("service", "set", "-t", "acme", "support", "--resolution-minutes", "480")
    tvox.ok("queue", "add", "-t", "acme", "mail", "--service", "support")
    for name, ext in (("ann", "201"), ("bob", "202")):
        tvox.ok("agent", "add", "-t", "acme", name, "--extension", ext, "--queue", "mail", "--capacity", "mail=1")
    return tvox


@contextlib.contextmanager
def acd_running(desk: Tvox) -> Iterator[None]:
    """`tvoxcc acd run` in its own process (a split deployment), routing once this returns."""
    env = {**os.environ, "TVOXCC_CONFIG": str(desk.config)}
    acd = subprocess.Popen([sys.executable, "-m", "tvoxcc", "acd", "run"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not json.loads(desk.ok("acd", "status", "--json"))["acd"]["routing"]:
            assert time.monotonic() < deadline and acd.poll() is None, "the ACD did not start routing"
            time.sleep(0.1)
        yield
    finally:
        acd.send_signal(signal.SIGTERM)
        _, err = acd.communicate(timeout=10)
        assert acd.returncode == 0, err


def mail(n: int, sender: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: {SUPPORT_ADDRESS}\r\nSubject: Problem {n}\r\n"
        f"Message-ID: <p{n}@example.com>\r\n\r\nProblem number {n}.\r\n"
    ).encode()


def test_acd_routing_sla_and_sender_limit(desk: Tvox, dovecot: LabDovecot, smtp: SmtpSink) -> None:
    flood = "robot@example.com"
    dovecot.deliver(
        "support", [mail(1, flood), mail(2, flood), mail(3, flood), mail(4, "eve@example.com"), mail(5, flood)]
    )
    out = desk.ok("support", "run", "--once")  # no ACD routing: the tickets wait, and it says so
    assert "new tickets 3, added 0, rejected 2" in out and "sent 3" in out and "assigned 0" in out
    assert "no ACD is routing: unassigned tickets wait" in out
    assert "no ACD is routing" in desk.fails("support", "next", "-t", "acme", "--agent", "ann")
    out = desk.ok("support", "run", "--once", "--acd")  # one pass with the ACD in process
    assert "assigned 2" in out and "no ACD is routing" not in out
    assert sorted(m["To"] for m in smtp.mails) == sorted([flood, flood, "eve@example.com"])  # no ack past the limit

    queue = json.loads(desk.ok("support", "queue", "-t", "acme", "--json"))
    assert [t["number"] for t in queue] == ["T-1001", "T-1002", "T-1003"]  # same targets: the oldest is most urgent
    assert sorted(t["agent"] for t in queue) == ["", "ann", "bob"]
    assert all(t["sla"].startswith("due ") and t["breached"] == [] for t in queue)
    waiting = next(t["number"] for t in queue if not t["agent"])
    holder = queue[0]["agent"]
    mine = json.loads(desk.ok("support", "queue", "-t", "acme", "--agent", holder, "--json"))
    assert [t["number"] for t in mine] == sorted([queue[0]["number"], waiting])  # theirs + the unassigned one
    assert "unknown agent 'ghost'" in desk.fails("support", "queue", "-t", "acme", "--agent", "ghost")
    table = desk.ok("support", "queue", "-t", "acme")
    assert "sla" in table.splitlines()[0].lower() and "due " in table

    with acd_running(desk):  # `support next` asks the running ACD
        refused = desk.fails("support", "next", "-t", "acme", "--agent", holder)
        assert "the ACD refused" in refused and "has no room on mail (1 of 1 in use)" in refused
        desk.ok("support", "reply", "-t", "acme", "T-1001", "-m", "Looking into it.", "--agent", holder)
        assert f"{waiting} assigned to {holder}" in desk.ok("support", "next", "-t", "acme", "--agent", holder)
        other = "bob" if holder == "ann" else "ann"
        assert "has no room on mail" in desk.fails("support", "next", "-t", "acme", "--agent", other)
        desk.ok("support", "status", "-t", "acme", waiting, "solved")
        assert f"no ticket waiting for {holder}" in desk.ok("support", "next", "-t", "acme", "--agent", holder)
        status = json.loads(desk.ok("acd", "status", "-t", "acme", "--json"))
        assert status["acd"]["routing"] and status["waiting"] == []

    shown = desk.ok("support", "show", "-t", "acme", "T-1001")
    assert f"agent: {holder}" in shown
    assert "SLA first response: met" in shown and "SLA resolution: paused" in shown
    thread = json.loads(desk.ok("support", "show", "-t", "acme", "T-1001", "--json"))
    assert thread["sla_clocks"]["first_response"]["state"] == "met"

    assert "priority 0 -> 7" in desk.ok("support", "priority", "-t", "acme", "T-1002", "7")
    assert "out of range" in desk.fails("support", "priority", "-t", "acme", "T-1002", "101")
    assert json.loads(desk.ok("support", "show", "-t", "acme", "T-1002", "--json"))["priority"] == 7
    assert "paused for tickets" in desk.ok("support", "pause", "-t", "acme", "--agent", "ann")
    assert "available for tickets" in desk.ok("support", "login", "-t", "acme", "--agent", "ann")
    assert "unknown agent 'ghost'" in desk.fails("support", "next", "-t", "acme", "--agent", "ghost")
    assert "unknown agent 'ghost'" in desk.fails("support", "pause", "-t", "acme", "--agent", "ghost")
    assert "resolution_minutes" in desk.fails("service", "set", "-t", "acme", "support", "--resolution-minutes", "0")
    service = json.loads(desk.ok("service", "show", "-t", "acme", "support", "--json"))
    assert (service["first_response_minutes"], service["resolution_minutes"]) == (60, 480)


def test_running_service_routes_new_tickets(desk: Tvox, dovecot: LabDovecot, smtp: SmtpSink) -> None:
    env = {**os.environ, "TVOXCC_CONFIG": str(desk.config)}
    service = subprocess.Popen(
        [sys.executable, "-m", "tvoxcc", "support", "run", "--acd", "--dispatch-every", "0.2"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        dovecot.deliver("support", mail(1, "eve@example.com"))
        deadline = time.monotonic() + 20
        agent = ""
        while not agent and time.monotonic() < deadline:
            time.sleep(0.2)
            queue = json.loads(desk.ok("support", "queue", "-t", "acme", "--json"))
            agent = queue[0]["agent"] if queue else ""
        assert agent in ("ann", "bob")
    finally:
        service.send_signal(signal.SIGTERM)
        _, err = service.communicate(timeout=10)
    assert service.returncode == 0, err
    assert "T-1001 assigned to" in err and "by the ACD" in err
