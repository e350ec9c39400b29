"""Ticket SLA and routing through the ACD service against the store, on SQLite and a real PostgreSQL (db_url fixture).

The ACD runs in a task (as `acd run` or `voice run` would, another process for all the support side knows):
tickets are submitted as mail items, offered to the agent the queue's strategy and skills choose, assigned;
a call ringing or talking blocks mail; a pause stops offers; a solved ticket frees the capacity.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from tvoxcc.acd import AcdService, InStore, NewItem, StoreConfig, load
from tvoxcc.acd.status import status_report
from tvoxcc.admin.edit import import_document
from tvoxcc.admin.spec import TenantDoc
from tvoxcc.mail.parse import parse_mail
from tvoxcc.mail.ratelimit import SenderLimit
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.support import desk
from tvoxcc.support.agents_store import next_for, set_presence
from tvoxcc.support.dispatch import DeskPresence
from tvoxcc.support.dispatch_store import Assigned, PassResult, reconcile, tick_tenant
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


class Clock:
    """The ACD's clock, moved by the test with the tickets' times."""

    def __init__(self) -> None:
        self.now = T0.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def acd(store: Store, acme: Mailbox) -> AsyncIterator[tuple[AcdService, Clock]]:
    """The one ACD, routing from the store's configuration in a task (as `acd run` or `voice run` would)."""
    clock = Clock()
    service = AcdService(store, StoreConfig(store), transports=[InStore()], clock=clock, rng=random.Random(1))
    assert await service.start(wait=False)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop, poll_s=0.01))
    yield service, clock
    stop.set()
    await task


async def drained(store: Store, service: AcdService) -> None:
    """Every request taken by the ACD and its decisions committed."""
    while True:
        async with store.session() as session:
            if not await session.scalar(select(func.count()).where(m.AcdInput.taken_at.is_(None))):
                break
        await asyncio.sleep(0.01)
    await service.flush()


async def clock_at(acd: tuple[AcdService, Clock], minute: float) -> None:
    acd[1].now = at(minute).timestamp()
    await acd[0].lease.renew()  # as the running ACD does every few seconds: `support next` sees it routing


async def tick(store: Store, box: Mailbox, minute: float, acd: tuple[AcdService, Clock] | None = None) -> PassResult:
    """A support pass (SLA, requests to the ACD); with ``acd``: the ACD decides, and the offers are applied."""
    if acd is not None:
        await clock_at(acd, minute)
    async with store.tenant(box.tenant_id) as session:
        result = await tick_tenant(session, at(minute))
        await session.commit()
    if acd is not None:
        await drained(store, acd[0])
        async with store.tenant(box.tenant_id) as session:
            applied = await reconcile(session, at(minute))
            await session.commit()
        result.assigned += applied.assigned
        await drained(store, acd[0])
    return result


async def assignees(store: Store, box: Mailbox) -> dict[str, str]:
    async with store.tenant(box.tenant_id) as session:
        rows = await session.execute(
            select(m.Ticket.number, m.Agent.name).outerjoin(m.Agent, m.Agent.id == m.Ticket.assignee_agent_id)
        )
        return {f"T-{n}": a or "" for n, a in rows.all()}


async def presence(store: Store, box: Mailbox, state: DeskPresence, *names: str) -> None:
    async with store.tenant(box.tenant_id) as session:
        for name in names:
            await set_presence(session, name, state, at(0))
        await session.commit()


def pairs(result: PassResult) -> list[tuple[int, str]]:
    return sorted((a.number, a.agent) for a in result.assigned)


async def test_acd_assigns_within_capacity_once(store: Store, acme: Mailbox, acd: tuple[AcdService, Clock]) -> None:
    for n in range(1, 5):
        assert await mail_in(store, acme, n, n) == f"T-{1000 + n}"
    first = await tick(store, acme, 10, acd)  # ann and bob are logged in by the support service (mail staff)
    # Oldest first; fewest handled counts finished items, as for calls: ann (idle longest) fills her mail
    # capacity first, then bob (mail 1) gets one.
    assert pairs(first) == [(1001, "ann"), (1002, "ann"), (1003, "bob")]
    assert pairs(await tick(store, acme, 11, acd)) == []  # no double assignment, T-1004 waits
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
    await clock_at(acd, 12)
    with pytest.raises(TicketError, match="has no room on mail \\(2 of 2 in use\\)"):
        await next_for(store, acme.tenant_id, "ann", at(12))
    with pytest.raises(TicketError, match="no mail capacity"):
        await next_for(store, acme.tenant_id, "cid", at(12))
    # A ticket waiting on the customer frees a slot (ann is in wrap-up: `next` works all the same).
    async with store.tenant(acme.tenant_id) as session:
        await desk.set_status(session, 1001, "pending-customer", now=at(12))
        await session.commit()
    await clock_at(acd, 12)
    await drained(store, acd[0])
    assert acd[0].view().agents["acme-ann"].wrapup_until == at(12).timestamp() + 10  # the queue's wrap-up
    got = await next_for(store, acme.tenant_id, "ann", at(12))
    assert got == Assigned(1004, "ann", "mail")
    assert (await assignees(store, acme))["T-1004"] == "ann"


async def test_paused_staff_get_nothing_and_a_ticket_assigned_by_hand_is_not_taken_twice(
    store: Store, acme: Mailbox, acd: tuple[AcdService, Clock]
) -> None:
    await mail_in(store, acme, 1, 0)
    await presence(store, acme, DeskPresence.PAUSED, "ann")
    await presence(store, acme, DeskPresence.LOGGED_OUT, "bob")
    assert pairs(await tick(store, acme, 2, acd)) == []
    status = status_report(await load(store), at(2))
    assert status["waiting"] == [
        {"queue": "acme/mail", "channel": "mail", "waiting": 1, "oldest_s": 0.0, "top_priority": 0}
    ]
    async with store.tenant(acme.tenant_id) as session:  # a supervisor assigns it by hand: its item is freed
        await desk.assign(session, 1001, "bob", now=at(3))
        await session.commit()
    await presence(store, acme, DeskPresence.AVAILABLE, "ann")
    assert pairs(await tick(store, acme, 4, acd)) == []
    assert (await assignees(store, acme))["T-1001"] == "bob"
    assert "ticket-" not in str(status_report(await load(store), at(4))["waiting"])
    # Unassigned by hand: it goes back to the ACD, and ann gets it.
    async with store.tenant(acme.tenant_id) as session:
        await desk.assign(session, 1001, None, now=at(5))
        await session.commit()
    assert pairs(await tick(store, acme, 6, acd)) == [(1001, "ann")]


async def test_an_agent_ringing_on_the_phone_gets_no_ticket_and_pause_stops_offers(
    store: Store, acme: Mailbox, acd: tuple[AcdService, Clock]
) -> None:
    service = acd[0]
    await presence(store, acme, DeskPresence.AVAILABLE, "ann")
    await presence(store, acme, DeskPresence.LOGGED_OUT, "bob")
    await tick(store, acme, 0, acd)
    for n in range(1, 3):
        await mail_in(store, acme, n, n)
    await clock_at(acd, 3)
    call = service.submit(NewItem("acme/mail", Channel.VOICE, acme.tenant_id, caller_id="0611"))  # ann rings
    assert pairs(await tick(store, acme, 3, acd)) == []  # a ringing call blocks other channels
    service.accept(call, "acme-ann")
    assert pairs(await tick(store, acme, 4, acd)) == []  # so does talking
    service.complete(call)  # at minute 4: the queue's 10 s of wrap-up
    assert pairs(await tick(store, acme, 5, acd)) == [(1001, "ann"), (1002, "ann")]  # after the wrap-up
    async with store.tenant(acme.tenant_id) as session:
        for n in (1001, 1002):
            await desk.set_status(session, n, "solved", now=at(6))
        await session.commit()
    await presence(store, acme, DeskPresence.PAUSED, "ann")
    await mail_in(store, acme, 3, 7)
    assert pairs(await tick(store, acme, 8, acd)) == []  # paused: nothing new
    agent = service.view().agents["acme-ann"]
    assert agent.pause_code == "support" and dict(agent.load).get(Channel.MAIL, 0) == 0  # solved: capacity free


async def test_calls_no_longer_block_mail_for_an_agent_who_said_so(
    store: Store, acme: Mailbox, acd: tuple[AcdService, Clock]
) -> None:
    async with store.session() as session:
        await session.execute(update(m.Agent).where(m.Agent.name == "ann").values(voice_blocks_others=False))
        await session.commit()
    await acd[0].reload_config()
    await presence(store, acme, DeskPresence.AVAILABLE, "ann")
    await presence(store, acme, DeskPresence.LOGGED_OUT, "bob")
    await tick(store, acme, 0, acd)
    call = acd[0].submit(NewItem("acme/mail", Channel.VOICE, acme.tenant_id))
    acd[0].accept(call, "acme-ann")
    await mail_in(store, acme, 1, 1)
    assert pairs(await tick(store, acme, 2, acd)) == [(1001, "ann")]


async def test_sla_columns_breaches_and_urgent_first_queue(store: Store, acme: Mailbox) -> None:
    await mail_in(store, acme, 1, 0)
    await mail_in(store, acme, 2, 30)
    async with store.tenant(acme.tenant_id) as session:
        await set_presence(session, "ann", DeskPresence.LOGGED_OUT, at(0))
        await set_presence(session, "bob", DeskPresence.LOGGED_OUT, at(0))
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
    assert result.breaches == [{"ticket": "T-1002", "target": "first-response"}]
    assert (await tick(store, acme, 126)).breaches == []  # recorded once
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
