"""The store side of ticket routing: snapshot for tvoxcc.support.dispatch, assignments applied, the tick.

A ticket's queue is its own ``queue_id`` or else the first queue (by name) of its service; tickets of a
service without a queue are only assigned by hand. Staff are agents with mail capacity; an agent is
available for the ACD unless `tvoxcc support pause/logout` said otherwise (no row: available), and
holds the tickets assigned to them that are new or open (pending-customer ones wait on the customer).
An assignment is applied only if the ticket is still unassigned, so two dispatchers (two `support run`,
or `support next` during a tick) never give one ticket twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from tvoxcc.queues import model as q
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.support.desk import take
from tvoxcc.support.dispatch import Assignment, PendingTicket, StaffMember, dispatch
from tvoxcc.support.sla_store import refresh_sla
from tvoxcc.support.status import TicketEventKind, TicketStatus
from tvoxcc.support.tickets import TicketError

# Voice router states (tvoxcc.queues.model.AgentStatus) that keep an agent from mail, as in the one router.
VOICE_HOLDS_ALL = frozenset({q.AgentStatus.PAUSED, q.AgentStatus.WRAPUP})
VOICE_CONVERSATION = frozenset({q.AgentStatus.RESERVED, q.AgentStatus.BUSY})
# What `tvoxcc support login/pause/logout` sets (SupportAgentState.state): the router's own states.
SUPPORT_PRESENCE = frozenset({q.AgentStatus.AVAILABLE, q.AgentStatus.PAUSED, q.AgentStatus.LOGGED_OUT})

log = logging.getLogger(__name__)


@dataclass
class Snapshot:
    queues: list[q.QueueConfig]
    staff: list[StaffMember]
    tickets: list[PendingTicket]
    queue_ids: dict[str, int]
    agent_ids: dict[str, int]
    ticket_ids: dict[int, int]  # number -> id


async def _queues(session: AsyncSession) -> tuple[list[q.QueueConfig], dict[str, int], dict[int, str]]:
    rows = await session.execute(
        select(m.Queue, m.Service.priority)
        .join(m.Service, m.Service.id == m.Queue.service_id)
        .options(selectinload(m.Queue.skills).selectinload(m.QueueSkill.skill))
        .order_by(m.Queue.name)
    )
    configs: list[q.QueueConfig] = []
    ids: dict[str, int] = {}
    by_service: dict[int, str] = {}
    for queue, service_priority in rows.all():
        ids[queue.name] = queue.id
        by_service.setdefault(queue.service_id, queue.name)
        configs.append(
            q.QueueConfig(
                name=queue.name,
                strategy=q.Strategy(queue.strategy),
                skills={s.skill.name: s.min_level for s in queue.skills},
                priority=queue.priority,
                service_priority=service_priority,
            )
        )
    return configs, ids, by_service


async def _held_by_voice(session: AsyncSession) -> set[int]:
    """Agents the voice service's router would give no mail now (its live snapshot, tvoxcc.voice.live): paused
    or in wrap-up on the phone, or ringing/talking when a call blocks other channels (``voice_blocks_others``).
    The voice and mail routers are two instances of one core; this keeps their agents' availability one.
    """
    live, agent = m.LiveAgent, m.Agent
    rows = await session.execute(
        select(agent.id)
        .join(live, and_(live.tenant_id == agent.tenant_id, live.agent == agent.name))  # the tenant's own agents
        .where(
            or_(
                live.state.in_(VOICE_HOLDS_ALL),
                and_(live.state.in_(VOICE_CONVERSATION), agent.voice_blocks_others.is_(True)),
            )
        )
    )
    return set(rows.scalars())


async def _staff(session: AsyncSession) -> tuple[list[StaffMember], dict[str, int]]:
    agents = (
        (
            await session.execute(
                select(m.Agent).options(
                    selectinload(m.Agent.skills).selectinload(m.AgentSkill.skill),
                    selectinload(m.Agent.memberships).selectinload(m.QueueMember.queue),
                )
            )
        )
        .scalars()
        .all()
    )
    held = dict(
        (
            await session.execute(
                select(m.Ticket.assignee_agent_id, func.count())
                .where(m.Ticket.assignee_agent_id.is_not(None), m.Ticket.status.in_(TicketStatus.AWAITING_US))
                .group_by(m.Ticket.assignee_agent_id)
            )
        ).all()
    )
    last = dict(
        (
            await session.execute(
                select(m.TicketEvent.agent_id, func.max(m.TicketEvent.at))
                .where(m.TicketEvent.kind == TicketEventKind.ASSIGNED, m.TicketEvent.agent_id.is_not(None))
                .group_by(m.TicketEvent.agent_id)
            )
        ).all()
    )
    presence = dict((await session.execute(select(m.SupportAgentState.agent_id, m.SupportAgentState.state))).all())
    on_the_phone = await _held_by_voice(session)
    staff = [
        StaffMember(
            name=a.name,
            mail_capacity=a.capacity.get(q.Channel.MAIL, 0),
            held=held.get(a.id, 0),
            skills={s.skill.name: s.level for s in a.skills},
            queues={mb.queue.name: (mb.penalty, mb.weight) for mb in a.memberships},
            available=presence.get(a.id, q.AgentStatus.AVAILABLE) == q.AgentStatus.AVAILABLE
            and a.id not in on_the_phone,
            last_assigned=last.get(a.id),
        )
        for a in agents
        if a.capacity.get(q.Channel.MAIL, 0) > 0
    ]
    return staff, {a.name: a.id for a in agents}


async def snapshot(session: AsyncSession) -> Snapshot:
    queues, queue_ids, by_service = await _queues(session)
    staff, agent_ids = await _staff(session)
    queue_names = {v: k for k, v in queue_ids.items()}
    rows = await session.execute(
        select(m.Ticket.id, m.Ticket.number, m.Ticket.queue_id, m.Ticket.service_id, m.Ticket.priority)
        .add_columns(m.Ticket.created_at)
        .where(m.Ticket.assignee_agent_id.is_(None), m.Ticket.status.in_(TicketStatus.AWAITING_US))
    )
    tickets, ticket_ids = [], {}
    for tid, number, queue_id, service_id, priority, created_at in rows.all():
        queue = queue_names.get(queue_id) if queue_id is not None else by_service.get(service_id)
        if queue is None:
            continue
        tickets.append(PendingTicket(number, queue, priority, created_at))
        ticket_ids[number] = tid
    return Snapshot(queues, staff, tickets, queue_ids, agent_ids, ticket_ids)


async def _apply(session: AsyncSession, snap: Snapshot, a: Assignment, now: datetime, *, by: str) -> bool:
    agent_id, ticket_id = snap.agent_ids[a.agent], snap.ticket_ids[a.number]
    claimed = await session.execute(
        update(m.Ticket)
        .where(m.Ticket.id == ticket_id, m.Ticket.assignee_agent_id.is_(None))
        .values(assignee_agent_id=agent_id, queue_id=snap.queue_ids[a.queue])
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return False  # someone else took it meanwhile
    ticket = await session.get(m.Ticket, ticket_id)
    assert ticket is not None
    await session.refresh(ticket)
    take(session, ticket, agent_id, now, by=by)
    return True


async def dispatch_pass(session: AsyncSession, now: datetime, rng: random.Random) -> list[Assignment]:
    """Route every waiting ticket that an available agent can take now."""
    snap = await snapshot(session)
    done = []
    for a in dispatch(snap.queues, snap.staff, snap.tickets, rng=rng):
        if await _apply(session, snap, a, now, by="acd"):
            done.append(a)
    return done


async def next_for(session: AsyncSession, agent_name: str, now: datetime, rng: random.Random) -> Assignment | None:
    """The ticket the ACD would give ``agent_name`` now, assigned to them; None: nothing waits for them."""
    snap = await snapshot(session)
    if agent_name not in snap.agent_ids:
        raise TicketError(f"unknown agent {agent_name!r}")
    member = next((s for s in snap.staff if s.name == agent_name), None)
    if member is None:
        raise TicketError(f"agent {agent_name!r} has no mail capacity (set it with `tvoxcc agent set --capacity`)")
    if member.free == 0:
        raise TicketError(
            f"agent {agent_name!r} already holds {member.held} open tickets (mail capacity {member.mail_capacity})"
        )
    for a in dispatch(snap.queues, snap.staff, snap.tickets, rng=rng, only_agent=agent_name):
        if await _apply(session, snap, a, now, by="next"):
            return a
    return None


async def set_presence(session: AsyncSession, agent_name: str, state: q.AgentStatus, now: datetime) -> None:
    if state not in SUPPORT_PRESENCE:
        raise TicketError(f"support presence {state!r}: use one of {', '.join(sorted(SUPPORT_PRESENCE))}")
    agent_id = (await session.execute(select(m.Agent.id).where(m.Agent.name == agent_name))).scalar_one_or_none()
    if agent_id is None:
        raise TicketError(f"unknown agent {agent_name!r}")
    row = (
        await session.execute(select(m.SupportAgentState).where(m.SupportAgentState.agent_id == agent_id))
    ).scalar_one_or_none()
    if row is None:
        row = m.SupportAgentState(agent_id=agent_id)
        session.add(row)
    row.state, row.updated_at = state, now


async def tick_tenant(session: AsyncSession, now: datetime, rng: random.Random) -> dict[str, Any]:
    """One tick for a tenant: SLA clocks copied (new breaches recorded), then waiting tickets routed."""
    working = (await session.execute(select(m.Ticket).where(m.Ticket.status.in_(TicketStatus.WORKING)))).scalars().all()
    breaches = await refresh_sla(session, working, now)
    assigned = await dispatch_pass(session, now, rng)
    return {"breaches": breaches, "assigned": assigned}


async def tick(store: Store, now: datetime, rng: random.Random) -> list[Assignment]:
    """One tick over every tenant, each in its own transaction."""
    async with store.session() as session:
        tenants = (await session.execute(select(m.Tenant.id, m.Tenant.name))).all()
    assigned: list[Assignment] = []
    for tenant_id, name in tenants:
        async with store.tenant(tenant_id) as session:
            result = await tick_tenant(session, now, rng)
            await session.commit()
        for a in result["assigned"]:
            log.info("%s: T-%d assigned to %s by the ACD (queue %s)", name, a.number, a.agent, a.queue)
        for b in result["breaches"]:
            log.warning("%s: %s missed its %s target", name, b["ticket"], b["target"])
        assigned.extend(result["assigned"])
    return assigned


async def dispatch_forever(
    store: Store, stop: asyncio.Event, *, clock: Callable[[], datetime], interval: float = 5.0
) -> None:
    rng = random.Random()
    while not stop.is_set():
        try:
            await tick(store, clock(), rng)
        except Exception as exc:  # the store may be briefly unreachable: keep the service up
            log.warning("ticket dispatch failed: %s: %s", type(exc).__name__, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
