"""Pre-aggregated 15-minute slots (insight_slots), brought up to date incrementally.

``refresh`` rebuilds, inside the database (INSERT … SELECT of the SQL path's aggregate), the slots from
where the last refresh stopped, minus ``MARGIN``: a call offered then may have been answered or ended
since. A call that stays open longer than the margin is counted as it was at the refresh that last saw
it; a full rebuild (``refresh(..., rebuild=True)``) fixes that. Slots are kept per pair of thresholds,
because answered-in-SL and short abandons depend on them.

``built_until``/``read`` let the report's basic path use the slots for the part of its range they cover
(the rest, e.g. the current quarter-hour of today, is aggregated live); ``covers`` says if that is all of it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, literal, select

from tvoxcc.insight.aggregate import SLOT_S, aggregate_query, group_columns
from tvoxcc.insight.model import Dimension, Params
from tvoxcc.insight.store import MARGIN

__all__ = ["MARGIN", "built_until", "covers", "read", "refresh"]
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

COLUMNS = (
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
    "shed",
)
ALL_GROUPS = ("queue", "agent", "service", "channel")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def floor_slot(at: datetime) -> datetime:
    return datetime.fromtimestamp(int(at.timestamp()) // SLOT_S * SLOT_S, UTC)


async def refresh(
    store: Store,
    tenant_id: int,
    now: datetime,
    *,
    sl_threshold_s: float = 20.0,
    short_abandon_s: float = 5.0,
    rebuild: bool = False,
    margin: timedelta = MARGIN,
) -> tuple[datetime, datetime]:
    """Rebuild the slots that may have changed, up to the slot ``now`` is in; returns the range rebuilt.

    ``margin``: how far back before the last refresh's end slots are rebuilt (calls offered then may have
    been answered or ended since). ``insight run`` uses a short one on most ticks and the full day hourly.
    """
    end = floor_slot(now)
    key = (tenant_id, float(sl_threshold_s), float(short_abandon_s))
    dialect = store.engine.dialect.name
    async with store.session() as s:
        state = await s.get(m.InsightRefresh, key)
        if state is None or rebuild:
            first = (
                await s.execute(select(func.min(m.Interaction.offered_at)).where(m.Interaction.tenant_id == tenant_id))
            ).scalar_one_or_none()
            start = floor_slot(first) if first is not None else end
        else:
            start = max(state.built_from, floor_slot(state.built_to - margin))
        if start < end:
            await s.execute(
                delete(m.InsightSlot).where(
                    m.InsightSlot.tenant_id == tenant_id,
                    m.InsightSlot.sl_threshold_s == key[1],
                    m.InsightSlot.short_abandon_s == key[2],
                    m.InsightSlot.slot_at >= start,
                    m.InsightSlot.slot_at < end,
                )
            )
            params = Params(start=start, end=end, sl_threshold_s=key[1], short_abandon_s=key[2])
            agg = aggregate_query(dialect, tenant_id, params, ALL_GROUPS).subquery()
            source = select(
                literal(tenant_id),
                literal(key[1]),
                literal(key[2]),
                _slot_at(agg.c.slot, dialect),
                *(agg.c[g] for g in ALL_GROUPS),
                *(func.coalesce(agg.c[c], 0) for c in _AGG_NAMES),
            )
            target = ["tenant_id", "sl_threshold_s", "short_abandon_s", "slot_at", "queue_id", "agent_id"]
            target += ["service_id", "channel", *COLUMNS]
            await s.execute(insert(m.InsightSlot).from_select(target, source))
            for group in ALL_GROUPS:
                await s.execute(_roll_up(tenant_id, key[1], key[2], start, end, group))
        # built from the first interaction on: there is nothing to aggregate before it
        built_from = EPOCH if state is None or rebuild else min(state.built_from, start)
        if state is None:
            s.add(
                m.InsightRefresh(
                    tenant_id=key[0], sl_threshold_s=key[1], short_abandon_s=key[2], built_from=built_from, built_to=end
                )
            )
        else:
            state.built_from = built_from
            state.built_to = end if rebuild else max(state.built_to, end)
        await s.commit()
    return start, end


# the aggregate's column names, in the order of COLUMNS
_AGG_NAMES = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "answered_in_sl",
    "abandoned_in_sl",
    "wait_answered",
    "longest_wait",
    "handled",
    "talk",
    "shed",
)


def _roll_up(tenant_id: int, sl: float, short: float, start: datetime, end: datetime, group: str) -> Any:
    """INSERT … SELECT of the combination rows of [start, end) summed to one dimension (rows named ``group``)."""
    t = m.InsightSlot
    column = {"queue": t.queue_id, "agent": t.agent_id, "service": t.service_id, "channel": t.channel}[group]
    sums = [func.max(t.longest_wait_s) if c == "longest_wait_s" else func.sum(getattr(t, c)) for c in COLUMNS]
    source = (
        select(
            literal(tenant_id),
            literal(sl),
            literal(short),
            t.slot_at,
            literal(group),
            column,
            *([] if group == "channel" else [literal("")]),
            *sums,
        )
        .where(
            t.tenant_id == tenant_id,
            t.sl_threshold_s == sl,
            t.short_abandon_s == short,
            t.dimension == "",
            t.slot_at >= start,
            t.slot_at < end,
        )
        .group_by(t.slot_at, column)
    )
    target = ["tenant_id", "sl_threshold_s", "short_abandon_s", "slot_at", "dimension", f"{group}_id"]
    if group == "channel":
        target[-1] = "channel"
    else:
        target.append("channel")
    return insert(t).from_select([*target, *COLUMNS], source)


def _slot_at(slot: Any, dialect: str) -> Any:
    if dialect == "sqlite":
        # the text form SQLAlchemy stores on SQLite, microseconds included, so range comparisons hold
        return func.datetime(slot * SLOT_S, "unixepoch").op("||")(".000000")
    return func.to_timestamp(slot * SLOT_S)


async def built_until(store: Store, tenant_id: int, params: Params) -> datetime | None:
    """Where the slots of these thresholds stop, when they start early enough for the range; else None.

    A report reads the slots up to there and aggregates the rest (today's last minutes) live.
    """
    async with store.session() as s:
        state = await s.get(m.InsightRefresh, (tenant_id, float(params.sl_threshold_s), float(params.short_abandon_s)))
    if state is None or state.built_from > params.start or state.built_to <= params.start:
        return None
    return state.built_to


async def covers(store: Store, tenant_id: int, params: Params) -> bool:
    async with store.session() as s:
        state = await s.get(m.InsightRefresh, (tenant_id, float(params.sl_threshold_s), float(params.short_abandon_s)))
    return state is not None and state.built_from <= params.start and params.end <= state.built_to


async def read(store: Store, tenant_id: int, params: Params, by: Dimension) -> list[Any]:
    """Rows shaped like the live aggregate's (group value, slot number, sums) from the stored slots."""
    t = m.InsightSlot
    column = {"queue": t.queue_id, "agent": t.agent_id, "service": t.service_id, "channel": t.channel}
    groups = group_columns(by)
    keys = [column[g] for g in groups]
    # the tenant's figures are the sum of its queues' (every aggregated call has a queue)
    dimension = groups[0] if groups else "queue"
    stmt = (
        select(
            *keys,
            t.slot_at.label("slot"),
            *(
                func.sum(getattr(t, c)).label(name)
                for c, name in zip(COLUMNS, _AGG_NAMES, strict=True)
                if c != "longest_wait_s"
            ),
            func.max(t.longest_wait_s).label("longest_wait"),
        )
        .where(
            t.tenant_id == tenant_id,
            t.sl_threshold_s == float(params.sl_threshold_s),
            t.short_abandon_s == float(params.short_abandon_s),
            t.dimension == dimension,
            and_(t.slot_at >= params.start, t.slot_at < params.end),
        )
        .group_by(*keys, t.slot_at)
    )
    async with store.session() as s:
        return list((await s.execute(stmt)).all())
