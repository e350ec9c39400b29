"""Two `support run` on one store (a Support pair): one active, one standby; no mail is processed twice.

A real Dovecot and an SMTP sink. The second service waits for the support lease; mails delivered meanwhile
make one ticket each and one acknowledgement each. SIGKILL the active one: the standby takes over (at once on
the same host: its holder's process is gone) and the next mails are handled the same way, once each.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.cli import Tvox
from tests.servers.dovecot import LabDovecot
from tests.servers.smtp import SmtpSink
from tests.test_support_routing_cli import desk, dovecot, mail  # noqa: F401  (fixtures)


def start(tvox: Tvox, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tvoxcc", "support", "run", "--poll", "1", "--dispatch-every", "0.2"],
        env={**os.environ, "TVOXCC_CONFIG": str(tvox.config)},
        stdin=subprocess.DEVNULL,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def until(check: Callable[[], bool], what: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def tickets(tvox: Tvox) -> list[str]:
    return [t["number"] for t in json.loads(tvox.ok("support", "queue", "-t", "acme", "--json"))]


def test_two_support_services_one_active_no_mail_twice(
    desk: Tvox,  # noqa: F811  (the fixture imported above)
    dovecot: LabDovecot,  # noqa: F811
    smtp: SmtpSink,
    tmp_path: Path,
) -> None:
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start(desk, first_log)
    second = None
    try:
        until(lambda: "support: active" in first_log.read_text(), "the first service is active")
        second = start(desk, second_log)
        until(lambda: "waits as a standby" in second_log.read_text(), "the second one stands by")
        dovecot.deliver("support", [mail(n, f"user{n}@example.com") for n in (1, 2, 3)])
        until(lambda: len(tickets(desk)) == 3 and len(smtp.mails) == 3, "3 tickets, 3 acknowledgements")
        assert "support: active" not in second_log.read_text()
        report = json.loads(desk.ok("cluster", "status", "--json"))
        roles = {r["pid"]: r["role"] for r in report["instances"] if r["service"] == "support"}
        assert roles == {first.pid: "active", second.pid: "standby"}

        os.killpg(first.pid, signal.SIGKILL)
        first.wait(5)
        until(lambda: "support: active" in second_log.read_text(), "the standby takes over")
        dovecot.deliver("support", [mail(n, f"user{n}@example.com") for n in (4, 5, 6)])
        until(lambda: len(tickets(desk)) == 6 and len(smtp.mails) == 6, "6 tickets, 6 acknowledgements")
        time.sleep(3)  # several more passes of the service: still one ticket and one acknowledgement a mail
        assert tickets(desk) == [f"T-{1000 + n}" for n in range(1, 7)]
        assert sorted(m["To"] for m in smtp.mails) == sorted(f"user{n}@example.com" for n in range(1, 7))
        report = json.loads(desk.ok("cluster", "status", "--json"))
        roles = {r["pid"]: r["role"] for r in report["instances"] if r["service"] == "support"}
        assert roles[second.pid] == "active" and roles.get(first.pid, "standby") == "standby"
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(10)
    assert second is not None and second.returncode == 0, second_log.read_text()[-2000:]
