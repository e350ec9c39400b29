"""Ticket numbers come from one per-tenant counter, whichever channel opens the ticket (tvoxcc.support.opening)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from tests.old_schema import old_tenant
from tests.servers.dovecot import SUPPORT_ADDRESS, seed_acme
from tvoxcc.config import MailAccount
from tvoxcc.mail.ingest import MailboxIngester
from tvoxcc.mail.parse import parse_mail
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import upgrade
from tvoxcc.store.tenancy import TenantViolation
from tvoxcc.store.types import utcnow
from tvoxcc.support.mail_in import ingest_mails
from tvoxcc.support.opening import open_ticket, reserve_numbers
from tvoxcc.support.tickets import Mailbox
from tvoxcc.voice.directory import Directory
from tvoxcc.voice.recorder import InteractionRef

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
ROUNDS = 200
UIDVALIDITY = 7


def mail(i: int) -> bytes:
    return (
        f"From: Customer {i} <c{i}@customer.test>\r\nTo: {SUPPORT_ADDRESS}\r\nSubject: question {i}\r\n"
        f"Message-ID: <q{i}@customer.test>\r\n\r\nHello.\r\n"
    ).encode()


async def test_voicemails_during_mail_ingest_store_every_ticket_with_unique_gapless_numbers(store: Store) -> None:
    """Each round the mail ingester stores a batch of 3 mails while a voicemail opens a ticket, 200 times.

    With ``max(number) + 1`` both read the same highest number and one INSERT hits the unique
    (tenant, number) constraint: the ingester retried its batch a mail at a time, the voicemail had no
    retry and its ticket was lost. The voicemail starts at offsets spread over the batch's run (0 to
    9.5 ms), so the rounds cover it reading before, during and after the batch's writes.
    """
    tenant_id = await seed_acme(store)
    directory = Directory(store)
    route = await directory.route("acme", "support")
    box = Mailbox(tenant_id, "acme", "ACME", "en", route.service_id, SUPPORT_ADDRESS, "test")
    account = MailAccount(  # the store side only: no IMAP server is contacted
        tenant="acme",
        service="support",
        imap_host="127.0.0.1",
        imap_user="support",
        imap_password=SecretStr("unused"),
        address=SUPPORT_ADDRESS,
    )
    ingester = MailboxIngester(store, account, box, MailTemplates(), clock=utcnow)
    await ingester.sync_uidvalidity(UIDVALIDITY)
    async with store.tenant(tenant_id) as session:
        calls = [
            m.Interaction(channel="voice", direction="inbound", external_id=f"call-{i}", offered_at=NOW)
            for i in range(ROUNDS)
        ]
        session.add_all(calls)
        await session.commit()

    async def voicemail(i: int) -> int:
        await asyncio.sleep((i % 20) * 0.0005)
        return await directory.voicemail_ticket(
            route, InteractionRef.stored(tenant_id, calls[i].id), f"+3902{i:06d}", b"RIFF....WAVE", 3.0, NOW
        )

    async def mail_batch(i: int) -> None:
        uids = range(3 * i + 1, 3 * i + 4)
        await ingester.store_batch(UIDVALIDITY, [(uid, parse_mail(mail(uid))) for uid in uids])

    failures: list[str] = []
    lost: Counter[str] = Counter()
    for i in range(ROUNDS):
        results = await asyncio.gather(mail_batch(i), voicemail(i), return_exceptions=True)
        for channel, result in zip(("mail", "voicemail"), results, strict=True):
            if isinstance(result, BaseException):
                lost[channel] += 1
                failures.append(f"round {i} {channel}: {type(result).__name__}: {result}"[:120])
    assert not failures, f"tickets lost in {len(failures)} of {ROUNDS} rounds {dict(lost)}, e.g. {failures[0]}"

    async with store.tenant(tenant_id) as session:
        tickets = (await session.execute(select(m.Ticket.number, m.Ticket.subject))).all()
        linked = (await session.execute(select(m.Interaction.ticket_id).where(m.Interaction.channel == "voice"))).all()
    assert sorted(n for n, _ in tickets) == list(range(1001, 1001 + 4 * ROUNDS))  # unique and gapless
    assert sum(s.startswith("Voicemail from") for _, s in tickets) == ROUNDS
    assert ingester.stats.new_tickets == 3 * ROUNDS and all(ticket_id is not None for (ticket_id,) in linked)


async def test_every_channel_numbers_from_the_same_counter(store: Store) -> None:
    tenant_id = await seed_acme(store)
    async with store.session() as session:
        other = m.Tenant(name="beta")
        session.add(other)
        await session.commit()
    directory = Directory(store)
    route = await directory.route("acme", "support")
    box = Mailbox(tenant_id, "acme", "ACME", "en", route.service_id, SUPPORT_ADDRESS, "test")
    async with store.tenant(tenant_id) as session:
        call = m.Interaction(channel="voice", direction="inbound", external_id="call-1", offered_at=NOW)
        session.add(call)
        await session.commit()

    assert (
        await directory.voicemail_ticket(
            route, InteractionRef.stored(route.tenant_id, call.id), "+390212345678", b"RIFF", 2.0, NOW
        )
        == 1001
    )
    async with store.tenant(tenant_id) as session:
        outcomes = await ingest_mails(
            session, box, [(1, parse_mail(mail(1))), (2, parse_mail(mail(2)))], now=NOW, templates=MailTemplates()
        )
        await session.commit()
    assert [o.ticket_number for o in outcomes] == [1002, 1003]
    async with store.tenant(tenant_id) as session:
        rolled_back = await reserve_numbers(session, 5)
        await session.rollback()  # numbers of a transaction that did not commit are handed out again
    async with store.tenant(other.id) as session:
        beta = await open_ticket(session, subject="first of beta", now=NOW, service_id=None, contact_id=None)
        await session.commit()
    async with store.tenant(tenant_id) as session:
        again = await open_ticket(session, subject="by hand", now=NOW, service_id=None, contact_id=None)
        await session.commit()
        history = (
            await session.execute(
                select(m.Ticket.number, m.TicketEvent.data)
                .join(m.TicketEvent, m.TicketEvent.ticket_id == m.Ticket.id)
                .where(m.TicketEvent.kind == "status")
                .order_by(m.Ticket.number)
            )
        ).all()
    assert (rolled_back, again.number, beta.number) == (1004, 1004, 1001)  # per tenant, T-1001 first
    # Every ticket starts its SLA history with "new", the voicemail's too.
    assert history == [(n, {"to": "new"}) for n in (1001, 1002, 1003, 1004)]

    async with store.session() as session:  # numbers are per tenant: an unscoped session cannot take one
        with pytest.raises(TenantViolation, match="per tenant"):
            await reserve_numbers(session, 1)


async def test_counters_continue_after_the_tickets_stored_before_them(db_url: str) -> None:
    """The migration seeds each tenant's counter after its highest number; a tenant without one starts at 1001."""
    await asyncio.to_thread(upgrade, db_url, "0014")  # alembic runs its own event loop
    store = Store.from_url(db_url)
    try:
        async with store.session() as session:
            # The schema of 0014: rows written with its columns only (today's models have more).
            acme_id, beta_id = await old_tenant(session, "acme"), await old_tenant(session, "beta")
            session.add_all([m.Ticket(tenant_id=acme_id, number=n, subject="old") for n in (1001, 1017)])
            await session.commit()
        await asyncio.to_thread(upgrade, db_url)
        async with store.session() as session:
            counters = dict(
                (await session.execute(select(m.TicketCounter.tenant_id, m.TicketCounter.next_number))).all()
            )
            late = m.Tenant(name="late")  # a tenant made after the migration: its counter is made on first use
            session.add(late)
            await session.flush()
            session.add(m.Ticket(tenant_id=late.id, number=1500, subject="stored by an older tvoxcc"))
            await session.commit()
        async with store.tenant(late.id) as session:
            assert await reserve_numbers(session, 2) == 1501
            await session.commit()
        async with store.tenant(late.id) as session:
            assert await reserve_numbers(session, 1) == 1503
        async with store.session() as session:  # an empty tenant can still be removed: its counter goes with it
            await session.delete(await session.get(m.Tenant, beta_id))
            await session.commit()
            left = (await session.execute(select(m.TicketCounter.tenant_id))).scalars().all()
    finally:
        await store.dispose()
    assert counters == {acme_id: 1018, beta_id: 1001}
    assert sorted(left) == [acme_id, late.id]
