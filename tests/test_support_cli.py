"""`tvoxcc support`: the service against real Dovecot and SMTP, and the desk commands on its tickets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli import Tvox, mail_desk
from tests.servers.dovecot import SUPPORT_ADDRESS, LabDovecot, dovecot_or_missing
from tests.servers.smtp import SmtpSink


@pytest.fixture
def dovecot() -> Iterator[LabDovecot]:
    server = dovecot_or_missing({"support": "cli-pw"})
    yield server
    server.stop()


@pytest.fixture
def desk(tvox: Tvox, dovecot: LabDovecot, smtp: SmtpSink) -> Tvox:
    return mail_desk(tvox, dovecot, smtp, "cli-pw")


def customer_mail(n: int) -> bytes:
    return (
        f"From: Bob <bob@example.com>\r\nTo: {SUPPORT_ADDRESS}\r\nSubject: Order {n} late\r\n"
        f"Message-ID: <o{n}@example.com>\r\n\r\nWhere is order {n}?\r\n"
    ).encode()


def test_desk_commands(desk: Tvox, dovecot: LabDovecot, smtp: SmtpSink, tmp_path: Path) -> None:
    dovecot.deliver("support", [customer_mail(1), customer_mail(2)])
    out = desk.ok("support", "run", "--once")
    assert "new tickets 2" in out and "sent 2" in out
    queue = json.loads(desk.ok("support", "queue", "-t", "acme", "--json"))
    assert [(t["number"], t["status"], t["customer"]) for t in queue] == [
        ("T-1001", "new", "bob@example.com"),
        ("T-1002", "new", "bob@example.com"),
    ]

    answer = tmp_path / "answer.txt"
    answer.write_text("It ships tomorrow.\n")
    assert "queued" in desk.ok("support", "reply", "-t", "acme", "T-1001", "--file", str(answer), "--agent", "mario")
    edited = desk("support", "note", "-t", "acme", "1001", env={"EDITOR": "sed -i 1iChecked_with_the_warehouse."})
    assert edited.exit_code == 0, edited.output  # the note written in $EDITOR
    desk.ok("support", "run", "--once")
    assert smtp.mails[-1]["In-Reply-To"] == "<o1@example.com>" and "It ships tomorrow." in smtp.mails[-1].get_content()

    thread = json.loads(desk.ok("support", "show", "-t", "acme", "T-1001", "--json"))
    assert thread["status"] == "pending-customer"
    assert [(msg["kind"], msg["delivery"]) for msg in thread["messages"]] == [
        ("inbound", None),
        ("outbound", "sent"),
        ("outbound", "sent"),
        ("note", None),
    ]
    assert "Where is order 1?" in desk.ok("support", "show", "-t", "acme", "1001")

    assert "unknown agent 'ghost'" in desk.fails("support", "assign", "-t", "acme", "1002", "ghost")
    desk.ok("agent", "add", "-t", "acme", "mario", "--extension", "201")
    desk.ok("support", "assign", "-t", "acme", "1002", "mario")
    assert json.loads(desk.ok("support", "queue", "-t", "acme", "--json"))[1]["agent"] == "mario"
    assert "open -> solved (the customer is told)" in desk.ok("support", "status", "-t", "acme", "1002", "solved")
    desk.ok("support", "run", "--once")
    solved = smtp.mails[-1]
    assert (solved["To"], solved["In-Reply-To"]) == ("bob@example.com", "<o2@example.com>")
    assert "[#T-1002]" in solved["Subject"] and "as solved" in solved.get_content()
    # The customer answers the notice: the ticket opens again.
    dovecot.deliver(
        "support",
        [
            (
                f"From: Bob <bob@example.com>\r\nTo: {SUPPORT_ADDRESS}\r\nSubject: {solved['Subject']}\r\n"
                f"Message-ID: <o2-again@example.com>\r\nIn-Reply-To: {solved['Message-ID']}\r\n\r\nStill missing.\r\n"
            ).encode()
        ],
    )
    desk.ok("support", "run", "--once")
    assert json.loads(desk.ok("support", "show", "-t", "acme", "T-1002", "--json"))["status"] == "open"
    assert "open -> solved\n" in desk.ok("support", "status", "-t", "acme", "1002", "solved", "--no-notify")
    sent = len(smtp.mails)
    desk.ok("support", "run", "--once")
    assert len(smtp.mails) == sent  # --no-notify: nothing mailed
    assert "pending-customer -> closed" in desk.ok("support", "close", "-t", "acme", "1001")
    assert [t["number"] for t in json.loads(desk.ok("support", "queue", "-t", "acme", "--json"))] == []
    assert len(json.loads(desk.ok("support", "queue", "-t", "acme", "--all", "--json"))) == 2

    assert "is closed" in desk.fails("support", "reply", "-t", "acme", "1001", "-m", "again")
    assert "no ticket T-4242" in desk.fails("support", "show", "-t", "acme", "4242")
    assert "closed ticket stays closed" in desk.fails("support", "status", "-t", "acme", "1001", "open")
    assert "unknown tenant" in desk.fails("support", "queue", "-t", "nobody")
    assert "bad ticket number" in desk.fails("support", "show", "-t", "acme", "x12")


def test_run_service_until_sigterm(desk: Tvox, dovecot: LabDovecot, smtp: SmtpSink) -> None:
    env = {**os.environ, "TVOXCC_CONFIG": str(desk.config)}
    service = subprocess.Popen(
        [sys.executable, "-m", "tvoxcc", "support", "run"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        dovecot.deliver("support", customer_mail(7))
        deadline = time.monotonic() + 15
        while not smtp.mails and time.monotonic() < deadline:
            time.sleep(0.05)
        assert smtp.mails and smtp.mails[0]["Subject"] == "Re: [#T-1001] Order 7 late"
    finally:
        service.send_signal(signal.SIGTERM)
        _, err = service.communicate(timeout=10)
    assert service.returncode == 0, err
    assert "cli-pw" not in err  # no secrets in the logs
