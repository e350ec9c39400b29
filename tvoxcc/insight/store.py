"""Loading a tenant's facts for a time range, and the report's basic counts aggregated in SQL.

Two paths:

- ``load_dataset`` reads interactions by ``(tenant_id, offered_at)`` and only the event kinds the core
  uses by ``(tenant_id, at)`` (both indexed), so ``tvoxcc.insight.metrics`` can compute every figure.
- ``basic_counts`` leaves the rows in the database: it groups by the dimension and by 15-minute UTC slot
  in SQL, and rolls slots up to the tenant's local intervals in Python. Every real time zone is offset
  from UTC by a multiple of 15 minutes, so the roll-up is exact for 15m/1h/1d intervals without SQL time
  zone support (SQLite has none). It gives the contact counts, waits and talk time; not pauses, NPS, RONA.
  It tells abandons from transfers and callbacks by the interaction's outcome only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Integer, Select, and_, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from tvoxcc.admin.errors import AdminError
from tvoxcc.insight.buckets import bucket_start
from tvoxcc.insight.metrics import (
    AGENT_STATUS,
    ALL,
    CALLBACK_REQUESTED,
    COMPLETED,
    LOGGED_OUT,
    NONE,
    PAUSED,
    RONA,
    SHED,
    TRANSFERRED,
    UNPAUSED,
    WRAPUP_ENDED,
    WRAPUP_STARTED,
    Figures,
    Key,
)
from tvoxcc.insight.model import (
    CallbackRequest,
    Contact,
    Dataset,
    Dimension,
    Event,
    Interval,
    NpsScore,
    Params,
    SlaBreach,
    Ticket,
    TicketPost,
)
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

QUEUED = "item-queued"
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
SLOT_S = 900


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
                    and_(cb.status == "done", cb.completed_at >= start, cb.completed_at < end),
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
        .where(msg.ticket_id == ticket.id, msg.kind == "inbound")
        .order_by(msg.created_at, msg.id)
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(first, "mail")


async def _breaches(
    s: AsyncSession, tenant_id: int, start: datetime, end: datetime, names: Names
) -> tuple[SlaBreach, ...]:
    """SLA targets missed in the range: the SLA clock's ``sla-breached`` ticket events, with their ticket."""
    e, t = m.TicketEvent, m.Ticket
    rows = await s.execute(
        select(e.at, e.data, first_inbound_channel(t).label("channel"), t.service_id, t.queue_id, t.assignee_agent_id)
        .join(t, t.id == e.ticket_id)
        .where(e.tenant_id == tenant_id, e.kind == "sla-breached", e.at >= start, e.at < end)
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
            if p.kind == "inbound" and p.channel:
                channel.setdefault(p.ticket_id, p.channel)
    return tuple(
        Ticket(
            id=r.id,
            resolved_at=_aware(r.resolved_at),
            posts=tuple(posts[r.id]),
            channel=channel.get(r.id, "mail"),
            service=names.services.get(r.service_id or -1),
            queue=names.queues.get(r.queue_id or -1),
            agent=names.agents.get(r.assignee_agent_id or -1),
        )
        for r in rows
    )


def _post_kind(kind: str, sent_as: str | None) -> str:
    """inbound, note, or an outbound mail: an agent's ``reply``, else automatic (the acknowledgement)."""
    if kind != "outbound":
        return kind
    return "reply" if sent_as in (None, "reply") else "auto"


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


def _epoch(column: Any, dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return func.extract("epoch", column)


def _seconds(begin: Any, end: Any, dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        # julianday is a float of days: rounding to the millisecond keeps a 20.000 s wait at exactly 20
        return func.round((func.julianday(end) - func.julianday(begin)) * 86400.0, 3)
    return cast(func.extract("epoch", end - begin), Float)


Slots = list[tuple[str, datetime, Figures]]  # (dimension value, 15-minute UTC slot, figures)


async def basic_slots(store: Store, tenant_id: int, params: Params, by: Dimension, names: Names) -> Slots:
    """Offered/answered/abandoned/SL/ASA/talk per dimension value and 15-minute slot, summed by the database."""
    # A plain session, filtered by tenant explicitly: the tenant session would add tenant_id = :t to the
    # correlated queue lookup too, and SQLite then scans the tenant's whole event log per call.
    async with store.session() as s:
        query = aggregate_query(store.engine.dialect.name, tenant_id, params, group_columns(by))
        rows = (await s.execute(query)).all()
    return to_slots(rows, by, names)


def to_slots(rows: Iterable[Any], by: Dimension, names: Names) -> Slots:
    """Aggregate rows (group value first unless by tenant/interval; ``slot`` a number or a datetime)."""
    label = {
        Dimension.QUEUE: names.queues,
        Dimension.AGENT: names.agents,
        Dimension.SERVICE: names.services,
    }.get(by)
    grouped = bool(group_columns(by))
    slots: Slots = []
    for r in rows:
        value = r[0] if grouped else ALL
        named = label.get(value) if label is not None and isinstance(value, int) else value
        group = NONE if named is None else str(named)
        figures = Figures(
            offered=int(r.offered or 0),
            shed=int(r.shed or 0),
            answered=int(r.answered or 0),
            abandoned=int(r.abandoned or 0),
            short_abandoned=int(r.short_abandoned or 0),
            answered_in_sl=int(r.answered_in_sl or 0),
            abandoned_in_sl=int(r.abandoned_in_sl or 0),
            wait_answered_s=float(r.wait_answered or 0),
            longest_wait_s=float(r.longest_wait or 0),
            handled=int(r.handled or 0),
            talk_s=float(r.talk or 0),
        )
        at = r.slot if isinstance(r.slot, datetime) else datetime.fromtimestamp(int(r.slot) * SLOT_S, UTC)
        slots.append((group, at, figures))
    return slots


def roll_up(slots: Slots, interval: Interval, tz: ZoneInfo, *, by_group: bool = True) -> dict[Key, Figures]:
    """15-minute UTC slots into the tenant's local intervals (every zone's offset is a multiple of 15')."""
    result: defaultdict[Key, Figures] = defaultdict(Figures)
    buckets: dict[datetime, datetime] = {}  # one time-zone conversion per slot, not per row
    for group, slot, figures in slots:
        bucket = buckets.get(slot)
        if bucket is None:
            bucket = buckets[slot] = bucket_start(slot, interval, tz)
        result[(group if by_group else ALL, bucket)].add(figures)
    return dict(sorted(result.items()))


async def basic_counts(store: Store, tenant_id: int, params: Params, by: Dimension, names: Names) -> dict[Key, Figures]:
    """``basic_slots`` rolled up to the report's intervals."""
    return roll_up(await basic_slots(store, tenant_id, params, by, names), params.interval, params.tz)


def group_columns(by: Dimension) -> tuple[str, ...]:
    return {
        Dimension.QUEUE: ("queue",),
        Dimension.AGENT: ("agent",),
        Dimension.SERVICE: ("service",),
        Dimension.CHANNEL: ("channel",),
    }.get(by, ())


def aggregate_query(dialect: str, tenant_id: int, params: Params, groups: tuple[str, ...]) -> Select[Any]:
    """Basic counts of inbound queued interactions offered in the range, grouped by ``groups`` + slot, and of
    the inbound calls shed (no queue: they count as ``shed`` only).

    ``groups`` names columns among queue, agent, service, channel; the slot is ``floor(epoch / 900)``.
    """
    i, e = m.Interaction, m.InteractionEvent
    # Only unanswered calls lack a queue on their row; COALESCE evaluates this lookup (by the indexed
    # interaction_id) for those alone, instead of joining every item-queued event of the range.
    first_queue = (
        select(e.queue_id)
        .where(e.interaction_id == i.id, e.kind == QUEUED, e.queue_id.is_not(None))
        .order_by(e.at)
        .limit(1)
        .scalar_subquery()
    )
    # floor division: SQLAlchemy's "/" is true division, which would make every call its own slot
    epoch = _epoch(i.offered_at, dialect)
    slot = func.floor(epoch / SLOT_S) if dialect != "sqlite" else epoch // SLOT_S
    gave_up = and_(
        i.answered_at.is_(None),
        i.ended_at.is_not(None),
        or_(i.outcome.is_(None), i.outcome.not_in((TRANSFERRED, "callback", SHED))),
    )
    # Each row's values are computed once in an inner query; the outer one only sums them.
    base = (
        select(
            func.coalesce(i.queue_id, first_queue).label("queue"),
            i.agent_id.label("agent"),
            i.service_id.label("service"),
            i.channel.label("channel"),
            slot.label("slot"),
            _seconds(i.offered_at, func.coalesce(i.answered_at, i.ended_at), dialect).label("wait"),
            case((i.answered_at.is_not(None), 1), else_=0).label("answered"),
            case((gave_up, 1), else_=0).label("gave_up"),
            case((i.outcome == SHED, 1), else_=0).label("shed"),
            case(
                (
                    and_(i.answered_at.is_not(None), i.ended_at.is_not(None)),
                    _seconds(i.answered_at, i.ended_at, dialect),
                ),
                else_=None,
            ).label("talk"),
        )
        .where(
            i.tenant_id == tenant_id,
            i.offered_at >= params.start,
            i.offered_at < params.end,
            i.direction == "inbound",
        )
        .subquery()
    )
    b = base.c
    within, short = b.wait <= params.sl_threshold_s, b.wait < params.short_abandon_s

    def count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((condition, 1), else_=0))

    keys = [b[name] for name in groups]
    queued = b.queue.is_not(None)
    return (
        select(
            *keys,
            b.slot,
            count(queued).label("offered"),
            func.sum(b.shed).label("shed"),
            func.sum(b.answered).label("answered"),
            count(and_(b.gave_up == 1, ~short)).label("abandoned"),
            count(and_(b.gave_up == 1, short)).label("short_abandoned"),
            count(and_(b.answered == 1, within)).label("answered_in_sl"),
            count(and_(b.gave_up == 1, ~short, within)).label("abandoned_in_sl"),
            func.sum(case((b.answered == 1, b.wait), else_=0.0)).label("wait_answered"),
            func.max(case((queued, b.wait), else_=None)).label("longest_wait"),
            func.count(b.talk).label("handled"),
            func.sum(b.talk).label("talk"),
        )
        .where(or_(queued, b.shed == 1))
        .group_by(*keys, b.slot)
    )


def day_range(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[first local midnight, the local midnight after ``last``) as UTC."""
    start = datetime(first.year, first.month, first.day, tzinfo=tz)
    end = datetime(last.year, last.month, last.day, tzinfo=tz).replace(tzinfo=None) + timedelta(days=1)
    return start.astimezone(UTC), end.replace(tzinfo=tz).astimezone(UTC)


__all__ = [
    "Names",
    "Slots",
    "Tenant",
    "basic_counts",
    "basic_slots",
    "day_range",
    "find_tenant",
    "load_dataset",
    "load_names",
    "roll_up",
]
