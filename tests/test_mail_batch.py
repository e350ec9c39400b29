"""A batch of mails is stored as if one mail at a time: threads, duplicates and contacts inside one batch."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.servers.dovecot import SUPPORT_ADDRESS, dovecot_or_missing, seed_acme
from tvoxcc.mail.ingest import MailboxIngester, resolve_mailbox
from tvoxcc.mail.parse import parse_mail
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.tenancy import TenantViolation
from tvoxcc.store.types import utcnow
from tvoxcc.support.mail_in import ingest_mails
from tvoxcc.support.tickets import Mailbox

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def raw(message_id: str, subject: str, *, sender: str = "anna@customer.test", reply_to: str | None = None) -> bytes:
    head = f"From: Anna <{sender}>\r\nTo: {SUPPORT_ADDRESS}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
    if reply_to:
        head += f"In-Reply-To: {reply_to}\r\n"
    return (head + "\r\nHello.\r\n").encode()


async def test_one_batch_threads_dedups_and_shares_contacts(store: Store) -> None:
    tenant_id = await seed_acme(store)
    box = Mailbox(tenant_id, "acme", "ACME", "en", None, SUPPORT_ADDRESS, "test")
    mails = [
        raw("<a1@c.test>", "Printer broken"),
        raw("<a2@c.test>", "Re: Printer broken", reply_to="<a1@c.test>"),  # replies to a mail of the same batch
        raw("<a1@c.test>", "Printer broken"),  # the same mail twice
        raw("<b1@c.test>", "Invoice", sender="bob@customer.test"),
        raw("<a3@c.test>", "Re: [#T-1002] Invoice"),  # tag of a ticket opened earlier in this batch
        raw("<n1@c.test>", "Out of office", sender="mailer-daemon@customer.test"),
        raw("<a4@c.test>", "Another question"),
    ]
    async with store.tenant(tenant_id) as session:
        outcomes = await ingest_mails(
            session, box, [(i + 1, parse_mail(r)) for i, r in enumerate(mails)], now=NOW, templates=MailTemplates()
        )
        await session.commit()
    assert [(o.action, o.ticket_number) for o in outcomes] == [
        ("new-ticket", 1001),
        ("added", 1001),
        ("duplicate", None),
        ("new-ticket", 1002),
        ("added", 1002),
        ("rejected", None),
        ("new-ticket", 1003),
    ]
    assert [o.reason for o in outcomes if o.action == "added"] == ["in-reply-to", "subject-tag"]

    # The next batch sees the first: a reply to a stored mail reopens its solved ticket, a known sender is reused.
    async with store.tenant(tenant_id) as session:
        ticket = (await session.execute(select(m.Ticket).where(m.Ticket.number == 1001))).scalar_one()
        ticket.status = "solved"
        await session.commit()
    async with store.tenant(tenant_id) as session:
        again = await ingest_mails(
            session,
            box,
            [(8, parse_mail(raw("<a5@c.test>", "Re: again", reply_to="<a2@c.test>"))), (9, parse_mail(mails[0]))],
            now=NOW,
            templates=MailTemplates(),
        )
        await session.commit()
    assert [(o.action, o.ticket_number) for o in again] == [("added", 1001), ("duplicate", None)]

    async with store.tenant(tenant_id) as session:
        tickets = {t.number: t for t in (await session.execute(select(m.Ticket))).scalars()}
        contacts = (await session.execute(select(m.ContactEmail.email, m.ContactEmail.contact_id))).all()
        by_ticket = dict(
            (
                await session.execute(
                    select(m.TicketMessage.ticket_id, func.count())
                    .where(m.TicketMessage.kind == "inbound")
                    .group_by(m.TicketMessage.ticket_id)
                )
            ).all()
        )
        acks = (await session.execute(select(m.OutboxMail).order_by(m.OutboxMail.id))).scalars().all()
        events = (await session.execute(select(m.InteractionEvent.kind, m.InteractionEvent.data))).all()
        inbound = (await session.execute(select(m.Interaction).where(m.Interaction.direction == "inbound"))).scalars()
        rejected = (await session.execute(select(m.MailRejection.reason))).scalars().all()
    assert tickets[1001].status == "open" and tickets[1002].status == "new"
    assert sorted(e for e, _ in contacts) == ["anna@customer.test", "bob@customer.test"]
    anna = dict(contacts)["anna@customer.test"]
    assert tickets[1001].contact_id == anna == tickets[1003].contact_id
    assert by_ticket == {tickets[1001].id: 3, tickets[1002].id: 2, tickets[1003].id: 1}
    assert [(a.ticket_id, a.in_reply_to, a.to_address) for a in acks] == [
        (tickets[1001].id, "<a1@c.test>", "anna@customer.test"),
        (tickets[1002].id, "<b1@c.test>", "bob@customer.test"),
        (tickets[1003].id, "<a4@c.test>", "anna@customer.test"),
    ]
    assert "[#T-1002] Invoice" in acks[1].subject and "T-1002" in acks[1].body_text
    assert sorted(k for k, _ in events) == ["mail-queued"] * 3 + ["offered"] * 6
    assert all(i.ticket_id in by_ticket and i.contact_id for i in inbound)
    assert rejected == ["bounce: sender mailer-daemon"]

    # The lookups rely on the session's tenant filter: an unscoped (admin) session is refused, not trusted.
    async with store.session() as session:
        with pytest.raises(TenantViolation, match="needs a session scoped to it"):
            await ingest_mails(session, box, [(20, parse_mail(mails[0]))], now=NOW, templates=MailTemplates())


async def test_two_mailboxes_ingesting_at_once_store_each_mail_once(store: Store) -> None:
    """Two ingesters write the same tables at once (ids are global across tenants): no mail lost or doubled."""
    server = dovecot_or_missing({"acme": "pw-a", "beta": "pw-b"})
    try:
        acme = await seed_acme(store)
        async with store.session() as session:
            tenant = m.Tenant(name="beta")
            session.add(tenant)
            await session.flush()
            session.add(m.Service(tenant_id=tenant.id, name="support", channels=["mail"]))
            await session.commit()
            beta = tenant.id
        per_box = 450  # three batches each, so the two interleave
        for user in ("acme", "beta"):
            server.deliver(
                user, [raw(f"<{user}{i}@c.test>", f"q {i}", sender=f"c{i % 7}@c.test") for i in range(per_box)]
            )
        ingesters = []
        for user in ("acme", "beta"):
            account = server.account(user, tenant=user, service="support", address=f"support@{user}.test")
            box = await resolve_mailbox(store, account)
            ingesters.append(MailboxIngester(store, account, box, MailTemplates(), clock=utcnow))
        await asyncio.gather(*(i.ingest_once() for i in ingesters))
    finally:
        server.stop()
    assert [(i.stats.new_tickets, i.stats.duplicates) for i in ingesters] == [(per_box, 0), (per_box, 0)]
    for tenant_id, user in ((acme, "acme"), (beta, "beta")):
        async with store.tenant(tenant_id) as session:
            inbound = (
                await session.execute(select(m.TicketMessage.message_id).where(m.TicketMessage.kind == "inbound"))
            ).scalars()
            numbers = (await session.execute(select(m.Ticket.number))).scalars().all()
            outbox = (await session.execute(select(func.count()).select_from(m.OutboxMail))).scalar_one()
            contacts = (await session.execute(select(func.count()).select_from(m.Contact))).scalar_one()
        assert sorted(inbound) == sorted(f"<{user}{i}@c.test>" for i in range(per_box))
        assert sorted(numbers) == list(range(1001, 1001 + per_box)) and outbox == per_box and contacts == 7


async def test_attachments_are_stored_byte_for_byte(store: Store) -> None:
    tenant_id = await seed_acme(store)
    box = Mailbox(tenant_id, "acme", "ACME", "en", None, SUPPORT_ADDRESS, "test")
    corpus = Path(__file__).parent / "data" / "mail" / "nested_multipart.eml"
    parsed = parse_mail(corpus.read_bytes())
    async with store.tenant(tenant_id) as session:
        (outcome,) = await ingest_mails(session, box, [(1, parsed)], now=NOW, templates=MailTemplates())
        await session.commit()
        stored = (await session.execute(select(m.Attachment).order_by(m.Attachment.id))).scalars().all()
    assert outcome.action == "new-ticket"
    assert [(a.filename, a.content_type, a.data, a.size, a.content_id) for a in stored] == [
        (a.filename, a.content_type, a.data, len(a.data), a.content_id) for a in parsed.attachments
    ]
    assert len(stored) == 2
