"""Each long-running service's heartbeat: its service_instances row, written every few seconds.

The row says what runs where (service, host, pid, since) and the lease that decides which instance of the
role is active; ``tvoxcc cluster status`` reads it. A beat that fails (the store unreachable a moment) is
logged and the next one tries again: the heartbeat never stops its service. A clean stop deletes the row; a
killed instance's row stays and goes stale, and is pruned by any live instance an hour later.

A beat is one transaction in one hop (tvoxcc.store.one_hop), its statements built once: through a session it
cost ~2 ms of CPU on SQLite, a tenth of the idle voice service's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from enum import StrEnum
from typing import cast

from sqlalchemy import Connection, Table, bindparam, delete, insert, update

from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.one_hop import OneHop
from tvoxcc.store.types import utcnow

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0
PRUNE_AFTER = timedelta(hours=1)  # a row silent this long is a dead instance's: removed
PRUNE_EVERY = 150  # beats between two prunes

_ROWS = cast(Table, m.ServiceInstance.__table__)
_BEAT = update(_ROWS).where(_ROWS.c.instance == bindparam("this")).values(beat_at=bindparam("now"))
_INSERT = insert(_ROWS)
_PRUNE = delete(_ROWS).where(_ROWS.c.beat_at < bindparam("before"))


class ServiceKind(StrEnum):
    VOICE = "voice"
    ACD = "acd"
    SUPPORT = "support"
    WEB = "web"
    INSIGHT = "insight"


class Heartbeat:
    def __init__(
        self,
        store: Store,
        service: ServiceKind,
        *,
        lease: str = "",
        interval_s: float = HEARTBEAT_S,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.service = service
        self.lease = lease
        self.interval_s = interval_s
        self.clock = clock
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.instance = f"{self.host}:{self.pid}:{uuid.uuid4().hex[:8]}"
        self.started_at = clock()
        self._task: asyncio.Task[None] | None = None
        self._beats = 0
        self._hop = OneHop(store, f"heartbeat-{service}")
        store.on_dispose(self._hop.close)

    async def beat(self) -> None:
        """Write this instance's row now (inserted again if someone pruned it); every PRUNE_EVERY beats, prune."""
        await self._hop.run(self._beat, self.clock(), prune=self._beats % PRUNE_EVERY == 0)
        self._beats += 1

    def _beat(self, conn: Connection, now: datetime, *, prune: bool) -> None:
        if conn.execute(_BEAT, {"this": self.instance, "now": now}).rowcount != 1:
            row = {
                "instance": self.instance,
                "service": str(self.service),
                "host": self.host,
                "pid": self.pid,
                "lease": self.lease,
                "started_at": self.started_at,
                "beat_at": now,
                "interval_s": self.interval_s,
            }
            conn.execute(_INSERT, row)
        if prune:
            conn.execute(_PRUNE, {"before": now - PRUNE_AFTER})

    async def start(self) -> None:
        await self._beat_or_log()
        self._task = asyncio.create_task(self._forever(), name=f"heartbeat-{self.service}")

    async def stop(self) -> None:
        """Stop beating and delete the row: a clean stop leaves nothing stale behind."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            async with self.store.session() as session:
                await session.execute(delete(m.ServiceInstance).where(m.ServiceInstance.instance == self.instance))
                await session.commit()
        except Exception as exc:  # the store gone at shutdown: the row goes stale, then is pruned
            log.warning("heartbeat: cannot remove %s: %s: %s", self.instance, type(exc).__name__, exc)
        await self._hop.close()

    async def _forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self._beat_or_log()

    async def _beat_or_log(self) -> None:
        try:
            await self.beat()
        except Exception as exc:  # the store unreachable a moment: the service goes on, the next beat retries
            log.warning("heartbeat of %s failed: %s: %s", self.service, type(exc).__name__, exc)


@asynccontextmanager
async def beating(store: Store, service: ServiceKind, *, lease: str = "") -> AsyncIterator[Heartbeat]:
    """This process's heartbeat as ``service`` while the block runs."""
    heartbeat = Heartbeat(store, service, lease=lease)
    await heartbeat.start()
    try:
        yield heartbeat
    finally:
        await heartbeat.stop()
