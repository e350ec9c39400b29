"""The store side of ticket routing through the ACD service: each tenant's tickets compared with the ACD's rows
(tvoxcc.support.dispatch.plan), the plan carried out, the tick, the follower of the ACD's mail offers.

The ACD may run in another process (`voice run` embeds it, `acd run`, `support run --acd`): requests go
through acd_inputs (``queue_inputs``, in the pass's own transaction) and its decisions are read back from
its rows, so a pass is idempotent and offers made while the support service was down are applied all the
same. With no ACD routing, submitted tickets wait (`tvoxcc acd status` shows them). An assignment is applied
only if the ticket is still unassigned, so a ticket assigned by hand meanwhile is never taken twice: its
item is freed instead (tvoxcc.support.ticket_items).

`support next` and `support login/pause/logout` are in tvoxcc.support.agents_store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.acd import CommandKind, CommandReader, InputKind, Request, queue_inputs
from tvoxcc.queues.model import Channel, ItemStatus
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.models.acd import NOTIFY_CHANNEL
from tvoxcc.store.notify import Wake
from tvoxcc.support.desk import take
from tvoxcc.support.dispatch import (
    DeskPresence,
    ItemState,
    StaffState,
    TicketState,
    item_prefix,
    plan,
    ticket_item,
    ticket_number,
)
from tvoxcc.support.sla_store import refresh_sla
from tvoxcc.support.status import TicketStatus
from tvoxcc.voice.acd_config import QueueKey, agent_id

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Assigned:
    number: int
    agent: str  # the agent's name
    queue: str  # the queue's name


@dataclass
class PassResult:
    assigned: list[Assigned] = field(default_factory=list)
    submitted: int = 0
    freed: int = 0  # items completed or abandoned for tickets no longer theirs to route
    breaches: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Names:
    """A tenant's router names: ``tenant/queue`` and ``tenant-agent``, both ways."""

    tenant_id: int
    tenant: str
    queues: dict[int, str] = field(default_factory=dict)  # queue id -> router name
    first_queue: dict[int, str] = field(default_factory=dict)  # service id -> router name of its first queue
    agents: dict[int, str] = field(default_factory=dict)  # agent id -> router id
    capacity: dict[int, dict[str, int]] = field(default_factory=dict)

    def queue_id(self, router_name: str) -> int | None:
        return next((k for k, v in self.queues.items() if v == router_name), None)

    def agent_row(self, router_id: str) -> int | None:
        return next((k for k, v in self.agents.items() if v == router_id), None)

    def short(self, router_name: str) -> str:
        return router_name.removeprefix(f"{self.tenant}/").removeprefix(f"{self.tenant}-")


async def names_of(session: AsyncSession) -> Names:
    """In a tenant session: its name, queues and agents as the ACD names them (tvoxcc.voice.acd_config)."""
    tenant_id, tenant = (await session.execute(select(m.Tenant.id, m.Tenant.name))).one()
    names = Names(tenant_id, tenant)
    queues = (await session.execute(select(m.Queue.id, m.Queue.name, m.Queue.service_id).order_by(m.Queue.name))).all()
    for qid, name, service_id in queues:
        names.queues[qid] = QueueKey(tenant, name).router_name
        names.first_queue.setdefault(service_id, names.queues[qid])
    for aid, name, capacity in await session.execute(select(m.Agent.id, m.Agent.name, m.Agent.capacity)):
        names.agents[aid] = agent_id(tenant, name)
        names.capacity[aid] = dict(capacity)
    return names


async def _staff(session: AsyncSession, names: Names) -> list[StaffState]:
    desk = dict((await session.execute(select(m.SupportAgentState.agent_id, m.SupportAgentState.state))).all())
    mail_staff = {aid: rid for aid, rid in names.agents.items() if names.capacity[aid].get("mail", 0) > 0}
    rows = await session.execute(
        select(m.AcdAgent.agent_id, m.AcdAgent.logged_in).where(m.AcdAgent.agent_id.in_(list(mail_staff.values())))
    )
    logged_in = dict(rows.all())
    return [
        StaffState(rid, DeskPresence(desk.get(aid, DeskPresence.AVAILABLE)), logged_in.get(rid))
        for aid, rid in mail_staff.items()
    ]


async def reconcile(session: AsyncSession, now: datetime, *, greeted: set[str] | None = None) -> PassResult:
    """One pass for the session's tenant: submit, assign, free and log in as tvoxcc.support.dispatch.plan says.
    ``greeted``: the agents this service has seen already (none: all are seen for the first time), updated."""
    names = await names_of(session)
    prefix = item_prefix(names.tenant_id)
    staff = [s for s in await _staff(session, names) if greeted is None or s.agent not in greeted]
    # Requests not taken yet are read before the items: one taken meanwhile has its decision's rows committed
    # with it, so the items read next already show it (never a stale item without its pending request).
    asked_rows = await session.execute(
        select(m.AcdInput.item_id, m.AcdInput.agent_id).where(
            m.AcdInput.taken_at.is_(None),
            or_(m.AcdInput.item_id.like(f"{prefix}%"), m.AcdInput.agent_id.in_([s.agent for s in staff])),
        )
    )
    asked = {key for pair in asked_rows.all() for key in pair if key}
    item_rows = await session.execute(
        select(m.AcdItem.item_id, m.AcdItem.queue, m.AcdItem.status, m.AcdItem.agent).where(
            m.AcdItem.item_id.like(f"{prefix}%")
        )
    )
    items = [
        ItemState(item_id, number, queue, ItemStatus(status), agent)
        for item_id, queue, status, agent in item_rows.all()
        if (number := ticket_number(names.tenant_id, item_id)) is not None
    ]
    tickets, ticket_ids = await _tickets(session, names, [i.number for i in items])
    todo = plan(names.tenant_id, tickets, items, asked=asked, staff=staff)
    requests = [Request(InputKind.LOGIN, agent_id=agent) for agent in todo.login]  # staff first, then their work
    requests += [
        Request(
            InputKind.SUBMIT,
            ticket_item(names.tenant_id, t.number),
            payload={
                "queue": t.queue,
                "channel": str(Channel.MAIL),
                "tenant_id": names.tenant_id,
                "priority": t.priority,
                "ref": f"T-{t.number}",
                "auto_accept": True,
                "arrived_at": t.created_at,
            },
        )
        for t in todo.submit
    ]
    requests += [Request(InputKind.COMPLETE, item_id) for item_id in todo.complete]
    requests += [Request(InputKind.ABANDON, item_id) for item_id in todo.abandon]
    await queue_inputs(session, requests)
    if greeted is not None:
        greeted.update(s.agent for s in staff if s.agent not in asked)
    result = PassResult(submitted=len(todo.submit), freed=len(todo.complete) + len(todo.abandon))
    for a in todo.assign:
        agent_row = names.agent_row(a.agent)
        if agent_row is not None and await _assign(session, ticket_ids[a.number], agent_row, names, a.queue, now):
            result.assigned.append(Assigned(a.number, names.short(a.agent), names.short(a.queue)))
    return result


async def _tickets(
    session: AsyncSession, names: Names, numbers: list[int]
) -> tuple[dict[int, TicketState], dict[int, int]]:
    """Every unassigned new/open ticket and every ticket an item names, as the ACD names things."""
    t = m.Ticket
    rows = await session.execute(
        select(t.id, t.number, t.queue_id, t.service_id, t.priority, t.created_at, t.status, t.assignee_agent_id).where(
            or_(and_(t.assignee_agent_id.is_(None), t.status.in_(TicketStatus.AWAITING_US)), t.number.in_(numbers))
        )
    )
    tickets, ids = {}, {}
    for tid, number, queue_id, service_id, priority, created, status, assignee in rows.all():
        queue = names.queues.get(queue_id) if queue_id is not None else names.first_queue.get(service_id or 0)
        owner = None if assignee is None else names.agents.get(assignee, f"#{assignee}")
        tickets[number] = TicketState(number, queue, priority, created.timestamp(), status, owner)
        ids[number] = tid
    return tickets, ids


async def _assign(
    session: AsyncSession, ticket_id: int, agent_row: int, names: Names, queue: str, now: datetime, by: str = "acd"
) -> bool:
    values: dict[str, Any] = {"assignee_agent_id": agent_row}
    queue_id = names.queue_id(queue)
    if queue_id is not None:  # the queue that served it (an overflow may have moved it)
        values["queue_id"] = queue_id
    claimed = await session.execute(
        update(m.Ticket)
        .where(
            m.Ticket.id == ticket_id,
            m.Ticket.assignee_agent_id.is_(None),
            m.Ticket.status.in_(TicketStatus.AWAITING_US),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return False  # assigned by hand or solved meanwhile: the next pass frees the item
    ticket = await session.get(m.Ticket, ticket_id)
    assert ticket is not None
    await session.refresh(ticket)
    take(session, ticket, agent_row, now, by=by)
    return True


async def tick_tenant(session: AsyncSession, now: datetime, *, greeted: set[str] | None = None) -> PassResult:
    """One tick for a tenant: SLA clocks copied (new breaches recorded), then tickets and the ACD reconciled."""
    working = (await session.execute(select(m.Ticket).where(m.Ticket.status.in_(TicketStatus.WORKING)))).scalars().all()
    breaches = await refresh_sla(session, working, now)
    result = await reconcile(session, now, greeted=greeted)
    result.breaches = breaches
    return result


async def _tenants(store: Store) -> list[tuple[int, str]]:
    async with store.session() as session:
        return [(tid, name) for tid, name in (await session.execute(select(m.Tenant.id, m.Tenant.name))).all()]


async def tick(
    store: Store, now: datetime, *, sla: bool = True, only: set[int] | None = None, greeted: set[str] | None = None
) -> PassResult:
    """One tick over every tenant (``only``: those), each in its own transaction."""
    total = PassResult()
    for tenant_id, name in await _tenants(store):
        if only is not None and tenant_id not in only:
            continue
        async with store.tenant(tenant_id) as session:
            pass_ = tick_tenant(session, now, greeted=greeted) if sla else reconcile(session, now, greeted=greeted)
            result = await pass_
            await session.commit()
        for a in result.assigned:
            log.info("%s: T-%d assigned to %s by the ACD (queue %s)", name, a.number, a.agent, a.queue)
        for b in result.breaches:
            log.warning("%s: %s missed its %s target", name, b["ticket"], b["target"])
        total.assigned += result.assigned
        total.breaches += result.breaches
        total.submitted += result.submitted
        total.freed += result.freed
    return total


async def acd_routing(store: Store, now: datetime) -> bool:
    """Whether an ACD holds the lease now (one routes the tickets submitted)."""
    async with store.session() as session:
        lease = await session.get(m.AcdLease, "acd")
    return lease is not None and bool(lease.holder) and (lease.expires_at is None or lease.expires_at >= now)


async def follow_offers(
    store: Store, stop: asyncio.Event, *, clock: Callable[[], datetime], poll_s: float, greeted: set[str]
) -> None:
    """Apply the ACD's mail offers as they are committed: each one makes its tenant reconciled at once."""
    reader = CommandReader(store, channels=[Channel.MAIL])
    wake = await Wake.open(store, NOTIFY_CHANNEL)
    try:
        while not stop.is_set():
            commands = await reader.read()
            offered = {c.tenant_id for c in commands if c.kind is CommandKind.OFFER and c.tenant_id is not None}
            if offered:
                await tick(store, clock(), sla=False, only=offered, greeted=greeted)
            if not commands:
                await wake.wait(poll_s)
    finally:
        await wake.close()


async def dispatch_forever(
    store: Store, stop: asyncio.Event, *, clock: Callable[[], datetime], interval: float = 5.0
) -> None:
    """Every ``interval`` a tick (SLA, submissions, freed items); in between, offers applied as they come."""
    greeted: set[str] = set()  # mail staff logged in at first sight (tvoxcc.support.dispatch)
    poll_s = min(interval, 1.0)
    follower = asyncio.create_task(_keep(follow_offers, store, stop, clock=clock, poll_s=poll_s, greeted=greeted))
    try:
        while not stop.is_set():
            try:
                await tick(store, clock(), greeted=greeted)
            except Exception as exc:  # the store may be briefly unreachable: keep the service up
                log.warning("ticket dispatch failed: %s: %s", type(exc).__name__, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower


async def _keep(loop: Callable[..., Any], store: Store, stop: asyncio.Event, **kwargs: Any) -> None:
    while not stop.is_set():
        try:
            await loop(store, stop, **kwargs)
        except Exception as exc:
            log.warning("following the ACD's offers failed: %s: %s", type(exc).__name__, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
