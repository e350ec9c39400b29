"""The loop of a standalone ACD (`tvoxcc acd run`, `support run --acd`): standby until the lease is free, then
route until stopped, and back to standby when the lease or the database is lost.

A lost database is a failover of the store (the primary gone, a standby being promoted): nothing decided is
lost, every decision was committed with its rows, so the ACD drops its router as a kill would and, once a
server that accepts writes answers again (a multi-host URL finds the promoted one), takes the lease and
rebuilds the router from the rows.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from tvoxcc.acd.lease import LeaseLost
from tvoxcc.store.lost import is_database_lost
from tvoxcc.store.models.acd import NOTIFY_CHANNEL
from tvoxcc.store.notify import Wake

if TYPE_CHECKING:
    from tvoxcc.acd.service import AcdService

log = logging.getLogger(__name__)


async def run(service: AcdService, stop: asyncio.Event, poll_s: float, config_poll_s: float, retry_s: float) -> None:
    from tvoxcc.acd.service import NotRouting  # the service module imports this one

    wake = await Wake.open(service.store, NOTIFY_CHANNEL)
    try:
        while not stop.is_set():
            try:
                if not service.routing and not await service.start(wait=False):
                    await wake.wait(service.standby_poll_s)
                    continue
                await _serve(service, stop, wake, poll_s, config_poll_s)
            except (LeaseLost, NotRouting) as lost:
                log.warning("ACD: %s; waiting as a standby", lost)
                await service.crash()
            except Exception as error:
                if not is_database_lost(error):
                    raise
                log.warning("ACD: the database is unreachable (%s); retrying in %.1f s", type(error).__name__, retry_s)
                if service.routing:
                    await service.crash()
                await asyncio.sleep(retry_s)  # the Wake LISTENs again by itself, on whichever primary answers
        if service.routing:
            await service.stop()
    finally:
        await wake.close()


async def _serve(service: AcdService, stop: asyncio.Event, wake: Wake, poll_s: float, config_poll_s: float) -> None:
    renewed = configured = service.clock()
    while not stop.is_set():
        if await service.take_inputs() == 0:
            due = service.router_next_timer_at()
            pause = poll_s if due is None else min(poll_s, max(0.0, due - service.clock()))
            await wake.wait(pause)
        due = service.router_next_timer_at()
        now = service.clock()
        if due is not None and due <= now:
            service.tick()
        if now - renewed >= service.lease.ttl_s / 3:
            await service.lease.renew()
            renewed = now
        if now - configured >= config_poll_s:
            await service.reload_config()
            configured = now
