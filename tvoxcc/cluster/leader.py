"""One active instance of a role (``support run``, ``insight run``), the others standing by.

The role's lease (tvoxcc.acd.lease.Lease, named after the role: PostgreSQL advisory lock, or SQLite's row with
an expiry and the dead-holder check) is taken before any work; a standby polls it every ``poll_s`` and says
once that it waits. The active instance renews it every third of its ttl; if it loses it (stalled past the
expiry, cut off from PostgreSQL) its work is stopped and it becomes a standby again. So two instances never
process the same mail or tick at the same time; a killed active one is replaced at once on the same host
(SQLite, PostgreSQL) or when its lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from tvoxcc.acd.lease import Lease, LeaseLost
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.lost import is_database_lost

log = logging.getLogger(__name__)

Work = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _holder(store: Store, name: str) -> str:
    async with store.session() as session:
        row = await session.get(m.AcdLease, name)
    return "nobody" if row is None else f"{row.host}, pid {row.pid}, since {row.since}"


async def run_as_leader(
    store: Store, name: str, stop: asyncio.Event, work: Work, *, ttl_s: float = 15.0, poll_s: float = 1.0
) -> None:
    """Until ``stop``: wait as a standby for lease ``name``, then run ``work(its_stop)`` while it is held.
    A lost database (a failover of the store) stops the work as a lost lease does; the lease is tried again
    every ``poll_s`` until a server accepts writes (a multi-host URL finds the promoted one)."""
    lease = Lease(store, time.time, ttl_s=ttl_s, name=name)
    while not stop.is_set():
        try:
            await _stand_by_then_lead(lease, store, stop, work, poll_s)
        except Exception as error:
            if not is_database_lost(error):
                raise
            log.warning("%s: the database is unreachable (%s); retrying in %.1f s", name, type(error).__name__, poll_s)
            await lease.abandon()
            await _pause(stop, poll_s)


async def _stand_by_then_lead(lease: Lease, store: Store, stop: asyncio.Event, work: Work, poll_s: float) -> None:
    name = lease.name
    said = False
    while not stop.is_set():
        if not await lease.try_acquire():
            if not said:
                log.warning("%s: another instance is active (%s): this one waits as a standby", name,
                            await _holder(store, name))  # fmt: skip
                said = True
            await _pause(stop, poll_s)
            continue
        said = False
        log.info("%s: active (%s)", name, lease.holder)
        await _lead(lease, stop, work)


async def _lead(lease: Lease, stop: asyncio.Event, work: Work) -> None:
    """Run ``work`` while the lease is held; its end (stop, lost lease, an error) ends the other."""
    mine = asyncio.Event()
    task = asyncio.create_task(work(mine), name=f"{lease.name}-work")
    stopping = asyncio.create_task(stop.wait())
    try:
        while not task.done() and not stop.is_set():
            await asyncio.wait([task, stopping], timeout=lease.ttl_s / 3, return_when=asyncio.FIRST_COMPLETED)
            if task.done() or stop.is_set():
                break
            try:
                await lease.renew()
            except LeaseLost as lost:
                log.warning("%s: %s: its work stops; waiting as a standby", lease.name, lost)
                await lease.abandon()  # another holds it now: nothing of ours to give up
                break
        mine.set()
        await task  # an error in the work is raised here, after the lease is given up below
    finally:
        stopping.cancel()
        mine.set()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if lease.held:
            await lease.release()
