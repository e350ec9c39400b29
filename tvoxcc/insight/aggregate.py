"""The report's basic counts aggregated in SQL, for ranges too long to load row by row.

``basic_counts`` leaves the rows in the database: it groups by the dimension and by 15-minute UTC slot in
SQL, and rolls slots up to the tenant's local intervals in Python. Every real time zone is offset from UTC
by a multiple of 15 minutes, so the roll-up is exact for 15m/1h/1d intervals without SQL time zone support
(SQLite has none). It gives the contact counts, waits and talk time; not pauses, NPS, RONA. It tells
abandons from transfers and callbacks by the interaction's outcome only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Integer, Select, and_, case, cast, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from tvoxcc.insight.buckets import bucket_start
from tvoxcc.insight.figures import ALL, NONE, Figures, Key
from tvoxcc.insight.model import Dimension, Interval, Params
from tvoxcc.insight.store import QUEUED, Names
from tvoxcc.interactions import Direction, Outcome
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

SLOT_S = 900


def epoch_of(column: Any, dialect: str) -> ColumnElement[Any]:
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
    epoch = epoch_of(i.offered_at, dialect)
    slot = func.floor(epoch / SLOT_S) if dialect != "sqlite" else epoch // SLOT_S
    gave_up = and_(
        i.answered_at.is_(None),
        i.ended_at.is_not(None),
        or_(i.outcome.is_(None), i.outcome.not_in(sorted(Outcome.HANDED_ON | {Outcome.SHED}))),
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
            case((i.outcome == Outcome.SHED, 1), else_=0).label("shed"),
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
            i.direction == Direction.INBOUND,
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
