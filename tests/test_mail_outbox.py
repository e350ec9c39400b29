"""The durable outbox: while SMTP is down nothing is lost, once it is back every mail goes out once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.servers.dovecot import SUPPORT_ADDRESS, seed_acme
from tests.servers.smtp import SmtpSink
from tvoxcc.config import SmtpSettings
from tvoxcc.mail.outbox import MAX_DELAY, backoff, drain_outbox
from tvoxcc.mail.parse import parse_mail
from tvoxcc.mail.smtp import SmtpSender
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.support import desk
from tvoxcc.support.mail_in import ingest_mail
from tvoxcc.support.tickets import Mailbox

TICKETS = 5


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.stop()


def test_backoff_doubles_up_to_a_cap() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert backoff(30) == MAX_DELAY


async def test_smtp_down_then_up_delivers_every_mail_once(store: Store, smtp: SmtpSink) -> None:
    tenant_id = await seed_acme(store)
    clock = Clock()
    box = Mailbox(tenant_id, "acme", "ACME", "en", None, SUPPORT_ADDRESS, "test")
    templates = MailTemplates()
    async with store.tenant(tenant_id) as session:
        for i in range(TICKETS):
            raw = f"From: c{i}@example.com\r\nSubject: help {i}\r\nMessage-ID: <h{i}@example.com>\r\n\r\nHelp {i}.\r\n"
            await ingest_mail(session, box, parse_mail(raw.encode()), uid=i + 1, now=clock(), templates=templates)
        for number in range(1001, 1001 + TICKETS):
            await desk.reply(
                session,
                number,
                f"Answer to {number}",
                tenant_name="acme",
                tenant_display="ACME",
                agent="mario",
                now=clock(),
                templates=templates,
            )
        await session.commit()

    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=smtp.port, tls="none"), timeout=2)
    down = await drain_outbox(store, sender, now=clock)  # the sink is not started: connection refused
    assert (down.sent, down.failed) == (0, 1)  # the pass stops at the first failure instead of hammering
    # The next pass tries the next mail; the failed one waits out its backoff.
    assert (await drain_outbox(store, sender, now=clock)).failed == 1
    clock.now += timedelta(seconds=6)
    assert (await drain_outbox(store, sender, now=clock)).failed == 1

    smtp.start()
    for _ in range(5):
        clock.now += timedelta(minutes=1)
        await drain_outbox(store, sender, now=clock)
    smtp.stop()
    smtp.start()  # and once more, after a restart of the SMTP server: nothing is sent again
    clock.now += timedelta(hours=1)
    assert (await drain_outbox(store, sender, now=clock)).sent == 0

    ids = Counter(mail["Message-ID"] for mail in smtp.mails)
    assert len(ids) == 2 * TICKETS and set(ids.values()) == {1}  # every ack and reply, each once
    async with store.tenant(tenant_id) as session:
        rows = (await session.execute(select(m.OutboxMail))).scalars().all()
    assert {r.status for r in rows} == {"sent"} and {r.message_id for r in rows} == set(ids)
    attempts = {r.id: r.attempts for r in rows}
    assert attempts[1] == 3 and attempts[2] == 2  # refused while down (first one retried after 5 s), then sent
    replies = [mail for mail in smtp.mails if "Answer to" in mail.get_content()]
    assert all(mail["In-Reply-To"].startswith("<h") for mail in replies)


async def test_permanent_refusal_fails_the_mail_at_once_and_others_go_out(store: Store, smtp: SmtpSink) -> None:
    tenant_id = await seed_acme(store)
    clock = Clock()
    box = Mailbox(tenant_id, "acme", "ACME", "en", None, SUPPORT_ADDRESS, "test")
    async with store.tenant(tenant_id) as session:
        for who in ("gone", "ok"):
            raw = f"From: {who}@example.com\r\nSubject: hi\r\nMessage-ID: <{who}@example.com>\r\n\r\nHi.\r\n"
            await ingest_mail(session, box, parse_mail(raw.encode()), uid=None, now=clock(), templates=MailTemplates())
        await session.commit()
    smtp.handler.refused.add("gone@example.com")
    smtp.start()
    result = await drain_outbox(
        store, SmtpSender(SmtpSettings(host="127.0.0.1", port=smtp.port, tls="none")), now=clock
    )
    assert (result.sent, result.failed) == (1, 1)
    async with store.tenant(tenant_id) as session:
        rows = {r.to_address: r for r in (await session.execute(select(m.OutboxMail))).scalars()}
    assert rows["gone@example.com"].status == "failed" and "550" in (rows["gone@example.com"].last_error or "")
    assert rows["ok@example.com"].status == "sent" and [mail["To"] for mail in smtp.mails] == ["ok@example.com"]
