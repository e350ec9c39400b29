"""`tvoxcc insight run`: keep every tenant's pre-aggregated slots up to date, one refresh per tick.

Each tick refreshes, for every tenant, the default thresholds (20 s / 5 s) and every other pair a refresh
was ever asked for (``insight_refreshes``), so a report with a tenant's own thresholds stays fast too.
A refresh is one transaction per tenant and pair: a stop request is honoured between refreshes, never in
the middle of one, so nothing half-built is left. A database error is logged and the next tick retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from tvoxcc.insight import slots
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

log = logging.getLogger("tvoxcc.insight")

DEFAULT_THRESHOLDS = (20.0, 5.0)
# Most ticks rebuild the last two hours (calls end within them); once an hour the whole last day, so a
# long call or a late-answered item is counted as it ended. Cheap ticks matter at a million calls a day.
SHORT_MARGIN, DEEP_EVERY = timedelta(hours=2), timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Refreshed:
    tenant: str
    sl_threshold_s: float
    short_abandon_s: float
    start: datetime
    end: datetime

    @property
    def rebuilt(self) -> bool:
        return self.start < self.end


async def refresh_all(
    store: Store, now: datetime, stop: asyncio.Event | None = None, *, margin: timedelta = slots.MARGIN
) -> list[Refreshed]:
    """Refresh every tenant's slots up to ``now``; stops early (between tenants) once ``stop`` is set."""
    async with store.session() as s:
        tenants = (await s.execute(select(m.Tenant.id, m.Tenant.name).order_by(m.Tenant.id))).all()
        kept = (
            await s.execute(
                select(m.InsightRefresh.tenant_id, m.InsightRefresh.sl_threshold_s, m.InsightRefresh.short_abandon_s)
            )
        ).all()
    pairs: dict[int, set[tuple[float, float]]] = {tid: {DEFAULT_THRESHOLDS} for tid, _ in tenants}
    for tid, sl, short in kept:
        pairs.setdefault(tid, {DEFAULT_THRESHOLDS}).add((float(sl), float(short)))
    done: list[Refreshed] = []
    for tid, name in tenants:
        for sl, short in sorted(pairs[tid]):
            if stop is not None and stop.is_set():
                return done
            start, end = await slots.refresh(store, tid, now, sl_threshold_s=sl, short_abandon_s=short, margin=margin)
            done.append(Refreshed(name, sl, short, start, end))
    return done


async def run_service(
    store: Store,
    stop: asyncio.Event,
    *,
    every_s: float,
    clock: Callable[[], datetime],
    on_tick: Callable[[list[Refreshed]], None] | None = None,
    housekeeping: Callable[[datetime], Awaitable[object]] | None = None,
) -> int:
    """Refresh every ``every_s`` seconds until ``stop`` is set; returns the number of ticks run.

    ``housekeeping`` (the tenants' retention purges: interactions and mails, recordings) runs after the refresh
    of each deep tick, once an hour: the slots of the days it empties were built before, and keep their counts."""
    ticks = 0
    last_deep: datetime | None = None
    while not stop.is_set():
        started, now = time.perf_counter(), clock()
        deep = last_deep is None or now - last_deep >= DEEP_EVERY
        try:
            done = await refresh_all(store, now, stop, margin=slots.MARGIN if deep else SHORT_MARGIN)
            if deep:
                last_deep = now
                if housekeeping is not None:
                    await housekeeping(now)
        except SQLAlchemyError as exc:
            # the database may be restarting: say so once per tick and try again at the next one
            log.warning("insight: refresh failed, retrying in %.0f s: %s", every_s, type(exc).__name__)
        else:
            ticks += 1
            rebuilt = sum(r.rebuilt for r in done)
            upto = max((r.end for r in done), default=None)
            log.info(
                "insight: tick %d: %d tenant slot sets refreshed (%d rebuilt, %s) up to %s in %.2f s",
                ticks,
                len(done),
                rebuilt,
                "last day" if deep else "last 2 h",
                f"{upto:%Y-%m-%d %H:%M} UTC" if upto else "-",
                time.perf_counter() - started,
            )
            if on_tick is not None:
                on_tick(done)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_s)
    log.info("insight: stopped after %d ticks", ticks)
    return ticks
