"""End to end against a real Dovecot and SMTP server: customer mails, acknowledgements, agent replies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.servers.dovecot import SUPPORT_ADDRESS, LabDovecot, account_for, dovecot_or_missing, seed_acme
from tests.servers.smtp import SmtpSink
from tvoxcc.config import SmtpSettings
from tvoxcc.mail.ingest import MailboxIngester, resolve_mailbox
from tvoxcc.mail.outbox import drain_outbox
from tvoxcc.mail.smtp import SmtpSender
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.types import utcnow
from tvoxcc.support import desk

CORPUS = Path(__file__).parent / "data" / "mail"


@pytest.fixture
def dovecot() -> Iterator[LabDovecot]:
    server = dovecot_or_missing({"support": "s3cret-pw"})
    yield server
    server.stop()


@pytest.fixture
async def acme(store: Store) -> AsyncIterator[int]:
    yield await seed_acme(store)


async def ingester(store: Store, dovecot: LabDovecot) -> MailboxIngester:
    account = account_for(dovecot)
    return MailboxIngester(store, account, await resolve_mailbox(store, account), MailTemplates(), clock=utcnow)


def customer_mail(message_id: str, subject: str, body: str, *, in_reply_to: str | None = None) -> bytes:
    headers = [
        "From: Anna Rossi <Anna@Customer.test>",
        f"To: {SUPPORT_ADDRESS}",
        f"Subject: {subject}",
        f"Message-ID: {message_id}",
        "Date: Sun, 22 Nov 2026 09:00:00 +0000",
    ]
    if in_reply_to:
        headers += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()


async def test_thread_of_customer_mails_and_agent_replies(
    store: Store, acme: int, dovecot: LabDovecot, smtp: SmtpSink
) -> None:
    mailbox = await ingester(store, dovecot)
    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=smtp.port, tls="none"))

    dovecot.deliver("support", customer_mail("<c1@customer.test>", "Printer broken", "It jams."))
    assert await mailbox.ingest_once() == 1
    assert (await drain_outbox(store, sender, now=utcnow)).sent == 1
    ack = smtp.mails[0]
    assert ack["Subject"] == "Re: [#T-1001] Printer broken"
    assert (ack["To"], ack["From"], ack["In-Reply-To"]) == ("anna@customer.test", SUPPORT_ADDRESS, "<c1@customer.test>")
    assert ack["Auto-Submitted"] == "auto-replied" and "[#T-1001]" in ack.get_content()

    # The customer answers the acknowledgement: threaded by In-Reply-To alone (no tag in the subject).
    dovecot.deliver(
        "support",
        customer_mail("<c2@customer.test>", "Re: Printer broken", "Still jams.", in_reply_to=ack["Message-ID"]),
    )
    # A fresh mail carrying only the tag in its subject.
    dovecot.deliver("support", customer_mail("<c3@customer.test>", "[#T-1001] one more thing", "Model X2."))
    assert await mailbox.ingest_once() == 2
    assert mailbox.stats.new_tickets == 1 and mailbox.stats.added == 2

    async with store.tenant(acme) as session:
        await desk.reply(
            session,
            1001,
            "Please restart it.",
            tenant_name="acme",
            tenant_display="ACME",
            agent="mario",
            now=utcnow(),
            templates=MailTemplates(),
        )
        await session.commit()
    assert (await drain_outbox(store, sender, now=utcnow)).sent == 1
    answer = smtp.mails[1]
    assert answer["In-Reply-To"] == "<c3@customer.test>" and answer["Subject"] == "Re: [#T-1001] Printer broken"
    assert "Please restart it." in answer.get_content() and "> Model X2." in answer.get_content()

    async with store.tenant(acme) as session:
        assert (await desk.ticket_by_number(session, 1001)).status == "pending-customer"

    dovecot.deliver(
        "support", customer_mail("<c4@customer.test>", "Re: whatever", "Works now!", in_reply_to=answer["Message-ID"])
    )
    assert await mailbox.ingest_once() == 1
    async with store.tenant(acme) as session:
        thread = await desk.thread_of(session, 1001)
        contacts = (await session.execute(select(func.count()).select_from(m.ContactEmail))).scalar_one()
        interactions = (await session.execute(select(func.count()).select_from(m.Interaction))).scalar_one()
    assert thread["status"] == "open"  # the customer's answer reopened it
    assert [msg["kind"] for msg in thread["messages"]] == [
        "inbound",
        "outbound",
        "inbound",
        "inbound",
        "outbound",
        "inbound",
    ]
    assert [msg["delivery"] for msg in thread["messages"] if msg["kind"] == "outbound"] == ["sent", "sent"]
    assert contacts == 1 and interactions == 6
    assert len(smtp.mails) == 2  # no acknowledgement for mails added to an existing ticket


async def test_same_mail_twice_is_stored_once(store: Store, acme: int, dovecot: LabDovecot) -> None:
    raw = customer_mail("<dup@customer.test>", "Twice", "Same mail.")
    dovecot.deliver("support", [raw, raw])
    mailbox = await ingester(store, dovecot)
    assert await mailbox.ingest_once() == 2
    assert (mailbox.stats.new_tickets, mailbox.stats.duplicates) == (1, 1)
    assert await mailbox.ingest_once() == 0  # nothing new since the stored last UID


async def test_hostile_corpus_through_imap(store: Store, acme: int, dovecot: LabDovecot) -> None:
    names = sorted(p.name for p in CORPUS.glob("*.eml") if p.name != "garbage.eml")  # IMAP refuses raw NULs
    dovecot.deliver("support", [(CORPUS / n).read_bytes() for n in names])
    mailbox = await ingester(store, dovecot)
    assert await mailbox.ingest_once() == len(names)
    async with store.tenant(acme) as session:
        reasons = dict((await session.execute(select(m.MailRejection.message_id, m.MailRejection.reason))).all())
        outbox = (await session.execute(select(func.count()).select_from(m.OutboxMail))).scalar_one()
    assert sorted(reasons.values()) == sorted(
        [
            "auto-submitted: auto-replied",
            "bounce: multipart/report",
            "no sender address",
            "precedence: bulk",
            "x-autoreply header",
        ]
    )
    accepted = len(names) - len(reasons)
    assert mailbox.stats.new_tickets == accepted and outbox == accepted  # acks only for real tickets
    async with store.tenant(acme) as session:
        files = (await session.execute(select(m.Attachment.filename, m.Attachment.content_id, m.Attachment.size))).all()
    assert ("logo.png", "logo@x", 17) in files and ("invoice.pdf", None, 13) in files


async def test_renumbered_folder_is_rescanned_without_doubles(store: Store, acme: int, dovecot: LabDovecot) -> None:
    dovecot.deliver("support", [customer_mail(f"<r{i}@customer.test>", f"R {i}", "x") for i in range(3)])
    mailbox = await ingester(store, dovecot)
    await mailbox.ingest_once()
    async with store.tenant(acme) as session:
        state = (await session.execute(select(m.MailboxState))).scalar_one()
        state.uidvalidity += 1  # as if the server had renumbered the folder
        await session.commit()
    assert await mailbox.ingest_once() == 3
    assert (mailbox.stats.new_tickets, mailbox.stats.duplicates) == (3, 3)
