"""Loading a tenant's facts for a time range, for the pure core (the SQL path is ``tvoxcc.insight.aggregate``).

``load_dataset`` reads interactions by ``(tenant_id, offered_at)`` and only the event kinds the core uses by
``(tenant_id, at)`` (both indexed), so ``tvoxcc.insight.metrics`` can compute every figure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tvoxcc.admin.errors import AdminError
from tvoxcc.insight.event_kinds import (
    AGENT_STATUS,
    CALLBACK_REQUESTED,
    COMPLETED,
    LOGGED_OUT,
    PAUSED,
    RONA,
    TRANSFERRED,
    UNPAUSED,
    WRAPUP_ENDED,
    WRAPUP_STARTED,
)
from tvoxcc.insight.model import (
    CallbackRequest,
    Contact,
    Dataset,
    Event,
    NpsScore,
    SlaBreach,
    Ticket,
    TicketPost,
)
from tvoxcc.queues.model import Channel, EventKind
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.support.status import MessageKind, TicketEventKind
from tvoxcc.voice.callback_status import CallbackStatus

QUEUED = EventKind.ITEM_QUEUED
# Only the kinds the core reads: IVR nodes, digits and offers are most of the log and are not needed.
USED_KINDS = (
    QUEUED,
    COMPLETED,
    WRAPUP_STARTED,
    WRAPUP_ENDED,
    PAUSED,
    UNPAUSED,
    LOGGED_OUT,
    CALLBACK_REQUESTED,
    RONA,
    TRANSFERRED,
    AGENT_STATUS,
)
# A call offered before the end of the range may end, be surveyed or wrapped up after it; a pause begun
# before the start may still be running. Events this far outside the range are read for that.
MARGIN = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Tenant:
    id: int
    name: str
    tz: ZoneInfo


@dataclass(frozen=True, slots=True)
class Names:
    services: dict[int, str]
    queues: dict[int, str]
    agents: dict[int, str]
    queue_service: dict[str, str]  # queue name -> service name
    wrapup_s: dict[str, float]  # queue name -> configured wrap-up


async def find_tenant(store: Store, name: str) -> Tenant:
    async with store.session() as session:
        row = (await session.execute(select(m.Tenant.id, m.Tenant.timezone).where(m.Tenant.name == name))).first()
    if row is None:
        raise AdminError(f"unknown tenant {name!r}")
    return Tenant(row.id, name, ZoneInfo(row.timezone or "UTC"))


async def load_names(store: Store, tenant_id: int) -> Names:
    async with store.tenant(tenant_id) as s:
        services = {r.id: r.name for r in await s.execute(select(m.Service.id, m.Service.name))}
        queue_rows = (await s.execute(select(m.Queue.id, m.Queue.name, m.Queue.service_id, m.Queue.wrapup_s))).all()
        agents = {r.id: r.name for r in await s.execute(select(m.Agent.id, m.Agent.name))}
    return Names(
        services=services,
        queues={r.id: r.name for r in queue_rows},
        agents=agents,
        queue_service={r.name: services[r.service_id] for r in queue_rows if r.service_id in services},
        wrapup_s={r.name: float(r.wrapup_s) for r in queue_rows},
    )


async def load_dataset(store: Store, tenant_id: int, start: datetime, end: datetime, names: Names) -> Dataset:
    """The contacts offered in [start, end) with the events and surveys the core needs for them."""
    async with store.tenant(tenant_id) as s:
        events = (
            await s.execute(
                select(
                    m.InteractionEvent.at,
                    m.InteractionEvent.kind,
                    m.InteractionEvent.interaction_id,
                    m.InteractionEvent.agent_id,
                    m.InteractionEvent.queue_id,
                    m.InteractionEvent.data,
                ).where(
                    m.InteractionEvent.tenant_id == tenant_id,
                    m.InteractionEvent.at >= start - MARGIN,
                    m.InteractionEvent.at < end + MARGIN,
                    m.InteractionEvent.kind.in_(USED_KINDS),
                )
            )
        ).all()
        rows = (
            await s.execute(
                select(
                    m.Interaction.id,
                    m.Interaction.channel,
                    m.Interaction.direction,
                    m.Interaction.service_id,
                    m.Interaction.queue_id,
                    m.Interaction.agent_id,
                    m.Interaction.offered_at,
                    m.Interaction.answered_at,
                    m.Interaction.ended_at,
                    m.Interaction.outcome,
                ).where(
                    m.Interaction.tenant_id == tenant_id,
                    m.Interaction.offered_at >= start,
                    m.Interaction.offered_at < end,
                )
            )
        ).all()
        nps_rows = (
            await s.execute(
                select(m.NpsAnswer.score, m.NpsAnswer.answered_at, m.NpsAnswer.interaction_id, m.NpsAnswer.agent_id)
                .where(m.NpsAnswer.tenant_id == tenant_id)
                .where(m.NpsAnswer.answered_at >= start - MARGIN, m.NpsAnswer.answered_at < end + MARGIN)
            )
        ).all()
        callbacks = await _callbacks(s, tenant_id, start, end, names)
        tickets = await _tickets(s, tenant_id, start, end, names)
        breaches = await _breaches(s, tenant_id, start, end, names)
    # An abandoned call has no queue on its row (set when answered): its first item-queued event says.
    queued: dict[int, int] = {}
    for e in sorted(events, key=lambda e: e.at):
        if e.kind == QUEUED and e.interaction_id is not None and e.queue_id is not None:
            queued.setdefault(e.interaction_id, e.queue_id)
    contacts = []
    for r in rows:
        queue = names.queues.get(r.queue_id or queued.get(r.id, -1))
        service = names.services.get(r.service_id or -1) or (names.queue_service.get(queue) if queue else None)
        contacts.append(
            Contact(
                id=r.id,
                channel=r.channel,
                direction=r.direction,
                offered_at=r.offered_at,
                service=service,
                queue=queue,
                agent=names.agents.get(r.agent_id or -1),
                answered_at=r.answered_at,
                ended_at=r.ended_at,
                outcome=r.outcome,
            )
        )
    return Dataset(
        contacts=tuple(contacts),
        events=tuple(_event(e, names) for e in events),
        nps=tuple(
            NpsScore(r.score, r.answered_at, r.interaction_id, names.agents.get(r.agent_id or -1)) for r in nps_rows
        ),
        queue_service=names.queue_service,
        callbacks=callbacks,
        tickets=tickets,
        breaches=breaches,
    )


async def _callbacks(
    s: AsyncSession, tenant_id: int, start: datetime, end: datetime, names: Names
) -> tuple[CallbackRequest, ...]:
    """Callbacks requested or completed in the range, with the agent of the interaction that completed them."""
    cb, placed = m.Callback, aliased(m.Interaction)
    rows = (
        await s.execute(
            select(cb.requested_at, cb.requested_by_id, cb.queue_id, cb.service_id, cb.completed_at, placed.agent_id)
            .outerjoin(placed, placed.id == cb.placed_as_id)
            .where(
                cb.tenant_id == tenant_id,
                or_(
                    and_(cb.requested_at >= start, cb.requested_at < end),
                    and_(cb.status == CallbackStatus.DONE, cb.completed_at >= start, cb.completed_at < end),
                ),
            )
        )
    ).all()
    return tuple(
        CallbackRequest(
            requested_at=r.requested_at,
            requested_by=r.requested_by_id,
            queue=names.queues.get(r.queue_id or -1),
            service=names.services.get(r.service_id or -1),
            completed_at=r.completed_at if r.completed_at is not None else None,
            agent=names.agents.get(r.agent_id or -1),
        )
        for r in rows
    )


def first_inbound_channel(ticket: type[m.Ticket]) -> Any:
    """The channel of a ticket's first customer message (a voicemail ticket is voice), else mail."""
    msg, via = m.TicketMessage, m.Interaction
    first = (
        select(via.channel)
        .select_from(msg)
        .join(via, via.id == msg.interaction_id)
        .where(msg.ticket_id == ticket.id, msg.kind == MessageKind.INBOUND)
        .order_by(msg.created_at, msg.id)
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(first, str(Channel.MAIL))


async def _breaches(
    s: AsyncSession, tenant_id: int, start: datetime, end: datetime, names: Names
) -> tuple[SlaBreach, ...]:
    """SLA targets missed in the range: the SLA clock's ``sla-breached`` ticket events, with their ticket."""
    e, t = m.TicketEvent, m.Ticket
    rows = await s.execute(
        select(e.at, e.data, first_inbound_channel(t).label("channel"), t.service_id, t.queue_id, t.assignee_agent_id)
        .join(t, t.id == e.ticket_id)
        .where(e.tenant_id == tenant_id, e.kind == TicketEventKind.SLA_BREACHED, e.at >= start, e.at < end)
    )
    return tuple(
        SlaBreach(
            at=_aware(r.at),
            target=str((r.data or {}).get("target", "")),
            channel=r.channel,
            service=names.services.get(r.service_id or -1),
            queue=names.queues.get(r.queue_id or -1),
            agent=names.agents.get(r.assignee_agent_id or -1),
        )
        for r in rows.all()
    )


async def _tickets(s: AsyncSession, tenant_id: int, start: datetime, end: datetime, names: Names) -> tuple[Ticket, ...]:
    """Tickets resolved (solved, else closed) in the range, with their thread's kinds of message."""
    t = m.Ticket
    resolved = func.coalesce(t.solved_at, t.closed_at)
    rows = (
        await s.execute(
            select(t.id, resolved.label("resolved_at"), t.service_id, t.queue_id, t.assignee_agent_id).where(
                t.tenant_id == tenant_id, resolved >= start, resolved < end
            )
        )
    ).all()
    if not rows:
        return ()
    msg, box, via = m.TicketMessage, m.OutboxMail, m.Interaction
    posts: defaultdict[int, list[TicketPost]] = defaultdict(list)
    channel: dict[int, str] = {}
    ids = [r.id for r in rows]
    for chunk in range(0, len(ids), 500):  # bounded IN lists
        found = await s.execute(
            select(msg.ticket_id, msg.created_at, msg.kind, box.kind.label("sent_as"), via.channel)
            .outerjoin(box, and_(box.tenant_id == msg.tenant_id, box.message_id == msg.message_id))
            .outerjoin(via, via.id == msg.interaction_id)
            .where(msg.tenant_id == tenant_id, msg.ticket_id.in_(ids[chunk : chunk + 500]))
            .order_by(msg.created_at, msg.id)
        )
        for p in found.all():
            posts[p.ticket_id].append(TicketPost(p.created_at, _post_kind(p.kind, p.sent_as)))
            if p.kind == MessageKind.INBOUND and p.channel:
                channel.setdefault(p.ticket_id, p.channel)
    return tuple(
        Ticket(
            id=r.id,
            resolved_at=_aware(r.resolved_at),
            posts=tuple(posts[r.id]),
            channel=channel.get(r.id, Channel.MAIL),
            service=names.services.get(r.service_id or -1),
            queue=names.queues.get(r.queue_id or -1),
            agent=names.agents.get(r.assignee_agent_id or -1),
        )
        for r in rows
    )


def _post_kind(kind: str, sent_as: str | None) -> str:
    """inbound, note, or an outbound mail: an agent's ``reply``, else automatic (the acknowledgement)."""
    if kind != MessageKind.OUTBOUND:
        return kind
    return "reply" if sent_as in (None, m.OutboxKind.REPLY) else "auto"


def _aware(at: datetime | str) -> datetime:
    """COALESCE of two UTC datetime columns comes back untyped on SQLite (text): read it as UTC."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _event(e: Any, names: Names) -> Event:
    data = e.data if isinstance(e.data, dict) else {}
    value = data.get("value")
    return Event(
        at=e.at,
        kind=e.kind,
        interaction_id=e.interaction_id,
        agent=names.agents.get(e.agent_id or -1),
        queue=names.queues.get(e.queue_id or -1),
        detail=str(data.get("detail") or ""),
        value=float(value) if isinstance(value, int | float) else None,
    )


def day_range(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[first local midnight, the local midnight after ``last``) as UTC."""
    start = datetime(first.year, first.month, first.day, tzinfo=tz)
    end = datetime(last.year, last.month, last.day, tzinfo=tz).replace(tzinfo=None) + timedelta(days=1)
    return start.astimezone(UTC), end.replace(tzinfo=tz).astimezone(UTC)


__all__ = ["Names", "Tenant", "day_range", "find_tenant", "load_dataset", "load_names"]
