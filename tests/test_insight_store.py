"""The store adapter on SQLite and PostgreSQL: the scripted day stored as rows gives the same figures."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.test_insight_day import (
    BREACHED,
    CALLBACKS,
    CONTACTS,
    DAY,
    EVENTS,
    NPS,
    QUEUE_SERVICE,
    TICKETS,
    D,
    params,
    t,
)
from tvoxcc.admin.errors import AdminError
from tvoxcc.insight.aggregate import basic_counts, roll_up
from tvoxcc.insight.api import day_summary
from tvoxcc.insight.followups import followup_slots
from tvoxcc.insight.metrics import compute
from tvoxcc.insight.model import Contact, Dataset, Dimension, Interval
from tvoxcc.insight.store import find_tenant, load_dataset, load_names
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

BASIC = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "answered_in_sl",
    "abandoned_in_sl",
    "wait_answered_s",
    "longest_wait_s",
    "handled",
    "talk_s",
)
FOLLOWUPS = ("callbacks_requested", "callbacks_completed", "tickets_resolved", "tickets_fcr", "sla_breaches")


async def insert_day(store: Store, name: str = "acme") -> int:
    """The scripted day as rows; abandoned calls have no queue on their row, only an item-queued event."""
    async with store.session() as s:
        tenant = m.Tenant(name=name, timezone="Europe/Rome")
        s.add(tenant)
        await s.flush()
        services = {n: m.Service(tenant_id=tenant.id, name=n, channels=["voice"]) for n in set(QUEUE_SERVICE.values())}
        s.add_all(services.values())
        await s.flush()
        queues = {
            q: m.Queue(tenant_id=tenant.id, name=q, service_id=services[sv].id, wrapup_s=10 if q == "sales" else 30)
            for q, sv in QUEUE_SERVICE.items()
        }
        agents = {
            a: m.Agent(tenant_id=tenant.id, name=a, extension=str(201 + n), sip_password="x")
            for n, a in enumerate(("mario", "luigi"))
        }
        s.add_all([*queues.values(), *agents.values()])
        await s.flush()
        ids: dict[int, int] = {}
        for c in CONTACTS:
            row = m.Interaction(
                tenant_id=tenant.id,
                channel=c.channel,
                service_id=services[c.service].id if c.service else None,
                queue_id=queues[c.queue].id if c.queue and c.answered_at else None,
                agent_id=agents[c.agent].id if c.agent else None,
                offered_at=c.offered_at,
                answered_at=c.answered_at,
                ended_at=c.ended_at,
                outcome=c.outcome,
            )
            s.add(row)
            await s.flush()
            ids[c.id] = row.id
            if c.queue:
                s.add(
                    m.InteractionEvent(
                        tenant_id=tenant.id,
                        at=c.offered_at,
                        kind="item-queued",
                        interaction_id=row.id,
                        queue_id=queues[c.queue].id,
                    )
                )
            # noise the adapter must skip
            s.add(m.InteractionEvent(tenant_id=tenant.id, at=c.offered_at, kind="ivr-node", interaction_id=row.id))
        for e in EVENTS:
            s.add(
                m.InteractionEvent(
                    tenant_id=tenant.id,
                    at=e.at,
                    kind=e.kind,
                    interaction_id=ids[e.interaction_id] if e.interaction_id else None,
                    agent_id=agents[e.agent].id if e.agent else None,
                    queue_id=queues[e.queue].id if e.queue else None,
                    data={"detail": e.detail, "value": e.value},
                )
            )
        for cb in CALLBACKS:
            placed = None
            if cb.completed_at is not None:  # the call back to the customer, answered by the agent
                placed = m.Interaction(
                    tenant_id=tenant.id,
                    channel="voice",
                    direction="outbound",
                    agent_id=agents[cb.agent].id if cb.agent else None,
                    offered_at=cb.completed_at,
                    answered_at=cb.completed_at,
                )
                s.add(placed)
                await s.flush()
            s.add(
                m.Callback(
                    tenant_id=tenant.id,
                    number="+39021234",
                    requested_by_id=ids[cb.requested_by] if cb.requested_by else None,
                    queue_id=queues[cb.queue].id if cb.queue else None,
                    service_id=services[cb.service].id if cb.service else None,
                    requested_at=cb.requested_at,
                    completed_at=cb.completed_at,
                    status="done" if cb.completed_at else "pending",
                    placed_as_id=placed.id if placed else None,
                )
            )
        await insert_tickets(
            s, tenant.id, {n: sv.id for n, sv in services.items()}, {n: a.id for n, a in agents.items()}
        )
        for n in NPS:
            s.add(
                m.NpsAnswer(
                    tenant_id=tenant.id,
                    score=n.score,
                    answered_at=n.answered_at,
                    interaction_id=ids[n.interaction_id] if n.interaction_id else None,
                    agent_id=agents[n.agent].id if n.agent else None,
                )
            )
        await s.commit()
        return tenant.id


async def insert_tickets(s: AsyncSession, tenant_id: int, services: dict[str, int], agents: dict[str, int]) -> None:
    """The scripted tickets as the support desk stores them: acks and replies go through the outbox; the SLA
    clock's breaches as its ticket events (a status event too, which is not a breach)."""
    rows: dict[int, int] = {}
    for ticket in TICKETS:
        row = m.Ticket(
            tenant_id=tenant_id,
            number=1000 + ticket.id,
            service_id=services[ticket.service] if ticket.service else None,
            assignee_agent_id=agents[ticket.agent] if ticket.agent else None,
            subject=f"ticket {ticket.id}",
            status="solved",
            solved_at=ticket.resolved_at,
        )
        s.add(row)
        await s.flush()
        rows[ticket.id] = row.id
        s.add(m.TicketEvent(tenant_id=tenant_id, ticket_id=row.id, at=ticket.resolved_at, kind="status", data={}))
        for n, p in enumerate(ticket.posts):
            message_id = f"<t{ticket.id}-{n}@example.com>"
            kind = {"auto": "outbound", "reply": "outbound"}.get(p.kind, p.kind)
            via = m.Interaction(tenant_id=tenant_id, channel="mail", direction="internal", offered_at=p.at)
            s.add(via)
            await s.flush()
            s.add(
                m.TicketMessage(
                    tenant_id=tenant_id,
                    ticket_id=row.id,
                    interaction_id=via.id,
                    kind=kind,
                    message_id=message_id,
                    author="system" if p.kind == "auto" else "someone",
                    created_at=p.at,
                )
            )
            if kind == "outbound":
                s.add(
                    m.OutboxMail(
                        tenant_id=tenant_id,
                        ticket_id=row.id,
                        kind="ack" if p.kind == "auto" else "reply",
                        message_id=message_id,
                        from_address="help@example.com",
                        to_address="c@example.com",
                        subject="re",
                        body_text="",
                    )
                )
    for ticket_id, target, at in BREACHED:
        s.add(
            m.TicketEvent(
                tenant_id=tenant_id, ticket_id=rows[ticket_id], at=at, kind="sla-breached", data={"target": target}
            )
        )
    # an open ticket with a reply: not resolved, never counted
    s.add(m.Ticket(tenant_id=tenant_id, number=999, subject="open", status="open"))


@pytest.mark.parametrize(
    "by", [Dimension.TENANT, Dimension.QUEUE, Dimension.AGENT, Dimension.SERVICE, Dimension.CHANNEL]
)
async def test_the_stored_day_gives_the_hand_checked_figures(store: Store, by: Dimension) -> None:
    await insert_day(store)
    await insert_day(store, "globex")  # another tenant's identical day must not leak in
    tenant = await find_tenant(store, "acme")
    names = await load_names(store, tenant.id)
    p = params()
    data = await load_dataset(store, tenant.id, p.start, p.end, names)
    assert sum(c.direction == "inbound" for c in data.contacts) == len(CONTACTS)  # + ticket mails, callbacks
    got = compute(data, replace(p, wrapup_s=names.wrapup_s), by)
    want = compute(with_callbacks_placed(DAY), p, by)
    assert got.keys() == want.keys()
    for key, figures in want.items():
        assert got[key] == figures, key


def with_callbacks_placed(day: Dataset) -> Dataset:
    """The day as stored: each completed callback also placed an outbound call, answered by its agent."""
    placed = tuple(
        Contact(100_000 + i, "voice", cb.completed_at, "outbound", agent=cb.agent, answered_at=cb.completed_at)
        for i, cb in enumerate(day.callbacks)
        if cb.completed_at is not None
    )
    return replace(day, contacts=day.contacts + placed)


@pytest.mark.parametrize(
    "by", [Dimension.INTERVAL, Dimension.QUEUE, Dimension.AGENT, Dimension.CHANNEL, Dimension.SERVICE]
)
@pytest.mark.parametrize("interval", [Interval.DAY, Interval.QUARTER])
async def test_the_sql_aggregate_agrees_with_the_core_on_basic_counts(
    store: Store, by: Dimension, interval: Interval
) -> None:
    await insert_day(store)
    tenant = await find_tenant(store, "acme")
    names = await load_names(store, tenant.id)
    p = params(interval)
    fast = await basic_counts(store, tenant.id, p, by, names)
    full = {k: f for k, f in compute(DAY, p, by).items() if f.offered}
    assert fast.keys() == full.keys()
    for key, figures in full.items():
        for name in BASIC:
            assert getattr(fast[key], name) == pytest.approx(getattr(figures, name)), (key, name)
    # callbacks and tickets, aggregated in SQL too
    followups = roll_up(await followup_slots(store, tenant.id, p, by, names), p.interval, p.tz)
    core = {
        k: f
        for k, f in compute(DAY, p, by).items()
        if f.callbacks_requested + f.callbacks_completed + f.tickets_resolved + f.sla_breaches
    }
    assert followups.keys() == core.keys()
    for key, figures in core.items():
        for name in FOLLOWUPS:
            assert getattr(followups[key], name) == getattr(figures, name), (key, name)
    if by is Dimension.INTERVAL and interval is Interval.DAY:
        assert fast[("all", D)].offered == 9 and fast[("all", D)].service_level == 37.5


async def test_an_unknown_tenant_is_refused(store: Store) -> None:
    with pytest.raises(AdminError, match="unknown tenant 'nobody'"):
        await find_tenant(store, "nobody")


async def test_a_range_only_reads_its_own_contacts(store: Store) -> None:
    tenant_id = await insert_day(store)
    names = await load_names(store, tenant_id)
    data = await load_dataset(store, tenant_id, t("09:00:00"), t("09:30:00"), names)
    assert [c.direction for c in data.contacts].count(
        "inbound"
    ) == 3  # offered 09:00, 09:10, 09:20; 09:30 is the end, excluded


async def test_day_summary_is_one_call_for_the_demo(store: Store) -> None:
    await insert_day(store)
    text = await day_summary(store, "acme", date(2026, 3, 10))
    lines = text.splitlines()
    assert len(lines) == 6  # title, header, all, sales, support, agents/callbacks/tickets
    assert lines[5] == (
        "agents: occupancy 1.6%, paused 5100s; callbacks 2 requested, 1 completed; tickets 5 resolved, "
        "first-contact 40.0%, SLA breaches 3"
    )  # occupancy (1075 + 220) / (28800 + 53400)
    assert lines[2].split() == ["all", "9", "5", "2", "37.5%", "373s", "385s", "+25", "0"]  # none shed
    assert lines[4].split()[:3] == ["support", "3", "3"]
