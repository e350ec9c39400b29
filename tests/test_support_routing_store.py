"""Ticket SLA and ACD routing against the store, on SQLite and a real PostgreSQL (db_url fixture)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from tvoxcc.admin.edit import import_document
from tvoxcc.admin.spec import TenantDoc
from tvoxcc.mail.parse import parse_mail
from tvoxcc.mail.ratelimit import SenderLimit
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.support import desk
from tvoxcc.support.dispatch import Assignment
from tvoxcc.support.dispatch_store import _apply, next_for, set_presence, snapshot, tick_tenant
from tvoxcc.support.mail_in import ingest_mail
from tvoxcc.support.tickets import Mailbox, TicketError

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADDRESS = "support@acme.test"
DOC = {
    "tenant": {"name": "acme"},
    "services": [
        {"name": "support", "channels": ["mail"], "first_response_minutes": 60, "resolution_minutes": 240},
        {"name": "sales", "channels": ["voice"]},
    ],
    "skills": [{"name": "german"}],
    "queues": [{"name": "mail", "service": "support", "strategy": "fewest-handled"}],
    "agents": [
        {"name": "ann", "extension": "201", "queues": ["mail"], "capacity": {"voice": 1, "mail": 2}},
        {"name": "bob", "extension": "202", "queues": ["mail"], "capacity": {"mail": 1}},
        {"name": "cid", "extension": "203", "queues": ["mail"]},  # voice only: never gets tickets
    ],
}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
async def acme(store: Store) -> AsyncIterator[Mailbox]:
    await import_document(store, TenantDoc.model_validate(DOC))
    async with store.session() as session:
        tenant = (await session.execute(select(m.Tenant))).scalar_one()
        service = (await session.execute(select(m.Service).where(m.Service.name == "support"))).scalar_one()
    yield Mailbox(tenant.id, "acme", "ACME", "en", service.id, ADDRESS, "test-box")


async def mail_in(store: Store, box: Mailbox, n: int, minute: float, sender: str = "") -> str:
    raw = (
        f"From: {sender or f'c{n}@example.com'}\r\nTo: {ADDRESS}\r\nSubject: question {n}\r\n"
        f"Message-ID: <q{n}@example.com>\r\n\r\nHelp {n}.\r\n"
    ).encode()
    async with store.tenant(box.tenant_id) as session:
        outcome = await ingest_mail(session, box, parse_mail(raw), uid=n, now=at(minute), templates=MailTemplates())
        await session.commit()
    return outcome.reason if outcome.action == "rejected" else f"T-{outcome.ticket_number}"


async def tick(store: Store, box: Mailbox, minute: float) -> dict[str, object]:
    async with store.tenant(box.tenant_id) as session:
        result = await tick_tenant(session, at(minute), random.Random(1))
        await session.commit()
    return result


async def assignees(store: Store, box: Mailbox) -> dict[str, str]:
    async with store.tenant(box.tenant_id) as session:
        rows = await session.execute(
            select(m.Ticket.number, m.Agent.name).outerjoin(m.Agent, m.Agent.id == m.Ticket.assignee_agent_id)
        )
        return {f"T-{n}": a or "" for n, a in rows.all()}


async def test_acd_assigns_within_capacity_once(store: Store, acme: Mailbox) -> None:
    for n in range(1, 5):
        assert await mail_in(store, acme, n, n) == f"T-{1000 + n}"
    first = await tick(store, acme, 10)
    assert sorted((a.number, a.agent) for a in first["assigned"]) == [(1001, "ann"), (1002, "bob"), (1003, "ann")]  # type: ignore[attr-defined]
    assert (await tick(store, acme, 11))["assigned"] == []  # no double assignment, T-1004 waits
    assert (await assignees(store, acme))["T-1004"] == ""
    async with store.tenant(acme.tenant_id) as session:
        t1001 = await desk.ticket_by_number(session, 1001)
        events = (await session.execute(select(m.TicketEvent).where(m.TicketEvent.ticket_id == t1001.id))).scalars()
        assert [(e.kind, e.data) for e in events] == [
            ("status", {"to": "new"}),
            ("assigned", {"by": "acd"}),
            ("status", {"to": "open"}),
        ]
        assert t1001.status == "open" and t1001.queue_id is not None
        with pytest.raises(TicketError, match="already holds 2 open tickets"):
            await next_for(session, "ann", at(12), random.Random(1))
        with pytest.raises(TicketError, match="no mail capacity"):
            await next_for(session, "cid", at(12), random.Random(1))
        # A ticket waiting on the customer frees a slot: `next` gives ann the waiting T-1004.
        await desk.set_status(session, 1001, "pending-customer", now=at(12))
        got = await next_for(session, "ann", at(12), random.Random(1))
        assert got == Assignment(1004, "ann", "mail")
        await session.commit()
    assert (await assignees(store, acme))["T-1004"] == "ann"


async def test_paused_staff_get_nothing_and_a_claimed_ticket_is_not_taken_twice(store: Store, acme: Mailbox) -> None:
    await mail_in(store, acme, 1, 0)
    async with store.tenant(acme.tenant_id) as session:
        await set_presence(session, "ann", "paused", at(1))
        await set_presence(session, "bob", "logged-out", at(1))
        await session.commit()
    assert (await tick(store, acme, 2))["assigned"] == []
    async with store.tenant(acme.tenant_id) as session:
        snap = await snapshot(session)
        async with store.tenant(acme.tenant_id) as other:  # meanwhile a supervisor assigns it by hand
            await desk.assign(other, 1001, "bob", now=at(3))
            await other.commit()
        assert await _apply(session, snap, Assignment(1001, "ann", "mail"), at(3), by="acd") is False
        await session.commit()
    assert (await assignees(store, acme))["T-1001"] == "bob"


async def _on_the_phone(store: Store, box: Mailbox, states: dict[str, str], *, tenant_id: int | None = None) -> None:
    """The voice service's live snapshot of the agents (tvoxcc.voice.live writes it)."""
    async with store.session() as session:
        await session.execute(delete(m.LiveAgent))
        for name, state in states.items():
            session.add(m.LiveAgent(tenant_id=tenant_id or box.tenant_id, agent=name, state=state, since=at(0)))
        await session.commit()


async def test_an_agent_busy_paused_or_in_wrap_up_on_the_phone_gets_no_ticket(store: Store, acme: Mailbox) -> None:
    for n in range(1, 3):
        await mail_in(store, acme, n, n)
    await _on_the_phone(store, acme, {"ann": "busy", "bob": "paused"})
    assert (await tick(store, acme, 5))["assigned"] == []  # a call blocks other channels; a pause blocks all
    await _on_the_phone(store, acme, {"ann": "wrap-up", "bob": "available"})
    assert [(a.number, a.agent) for a in (await tick(store, acme, 6))["assigned"]] == [(1001, "bob")]  # type: ignore[attr-defined]
    async with store.session() as session:  # ann's calls no longer block her mail
        await session.execute(update(m.Agent).where(m.Agent.name == "ann").values(voice_blocks_others=False))
        await session.commit()
    await _on_the_phone(store, acme, {"ann": "busy", "bob": "available"})
    assert [(a.number, a.agent) for a in (await tick(store, acme, 7))["assigned"]] == [(1002, "ann")]  # type: ignore[attr-defined]


async def test_another_tenants_agent_of_the_same_name_on_the_phone_does_not_count(store: Store, acme: Mailbox) -> None:
    await mail_in(store, acme, 1, 1)
    async with store.session() as session:
        beta = m.Tenant(name="beta")
        session.add(beta)
        await session.commit()
    await _on_the_phone(store, acme, {"ann": "busy", "bob": "busy"}, tenant_id=beta.id)
    assert len((await tick(store, acme, 5))["assigned"]) == 1  # type: ignore[arg-type]


async def test_sla_columns_breaches_and_urgent_first_queue(store: Store, acme: Mailbox) -> None:
    await mail_in(store, acme, 1, 0)
    await mail_in(store, acme, 2, 30)
    async with store.tenant(acme.tenant_id) as session:
        await set_presence(session, "ann", "logged-out", at(0))
        await set_presence(session, "bob", "logged-out", at(0))
        await session.commit()
    await tick(store, acme, 1)
    async with store.tenant(acme.tenant_id) as session:
        t = await desk.ticket_by_number(session, 1001)
        assert (t.first_response_due, t.resolution_due) == (at(60), at(240))
        # Waiting on the customer for 100 minutes does not count.
        await desk.set_status(session, 1001, "pending-customer", now=at(20))
        await desk.set_status(session, 1001, "open", now=at(120))
        await session.commit()
    result = await tick(store, acme, 125)
    assert result["breaches"] == [{"ticket": "T-1002", "target": "first-response"}]
    assert (await tick(store, acme, 126))["breaches"] == []  # recorded once
    async with store.tenant(acme.tenant_id) as session:
        t = await desk.ticket_by_number(session, 1001)
        assert (t.first_response_due, t.first_response_breached) == (at(160), False)
        rows = await desk.queue_rows(session, now=at(126))
        assert [(r["number"], r["breached"]) for r in rows] == [("T-1002", ["first_response"]), ("T-1001", [])]
        assert rows[1]["sla"] == "due 2026-03-02 11:40" and rows[1]["sla_due"] == at(160).isoformat()
        breached = (
            await session.execute(select(m.TicketEvent.data).where(m.TicketEvent.kind == "sla-breached"))
        ).scalars()
        assert list(breached) == [{"target": "first-response"}]


async def test_per_sender_rate_limit(store: Store, acme: Mailbox) -> None:
    limited = Mailbox(**{**acme.__dict__, "sender_limit": SenderLimit(max_mails=2, window_minutes=10)})
    flood = "loop@example.com"
    got = [await mail_in(store, limited, n, n, sender=flood) for n in range(1, 5)]
    assert got == ["T-1001", "T-1002", "rate-limited", "rate-limited"]
    assert await mail_in(store, limited, 5, 12, sender=flood) == "T-1003"  # T-1001 left the window
    assert await mail_in(store, limited, 6, 12, sender="other@example.com") == "T-1004"
    async with store.tenant(acme.tenant_id) as session:
        rejected = (await session.execute(select(m.MailRejection.reason, m.MailRejection.sender))).all()
        assert [tuple(r) for r in rejected] == [("rate-limited", flood)] * 2
        acks = (await session.execute(select(m.OutboxMail.to_address).where(m.OutboxMail.kind == "ack"))).scalars()
        assert sorted(acks) == sorted([flood] * 3 + ["other@example.com"])
