"""The web app's side of the live snapshot: poll which tenant changed, load it, wake its listeners.

Every ``poll_interval`` one query reads ``live_tenants`` (a row per tenant: version, written_at); only a
tenant whose version moved is loaded (its queue and agent rows) and announced to the Server-Sent-Event
streams waiting on it. So an idle wallboard costs one tiny query per interval for the whole app, and an
event reaches browsers within debounce (voice side, ≤ 0.25 s) + interval (≤ 0.25 s) + the write itself.

On PostgreSQL the app also LISTENs to the writer's NOTIFY and polls at once when it arrives (the poll
stays, as the fallback when the listening connection is lost).

Times in the snapshot are on the voice service's clock. ``offset`` (voice clock − our clock, taken when a
new version is seen) turns them into waits and times in state even when the two clocks disagree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.models.live import NOTIFY_CHANNEL
from tvoxcc.store.notify import Wake

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QueueRow:
    waiting: int
    oldest_at: datetime | None


@dataclass(frozen=True, slots=True)
class AgentRow:
    state: str
    reason: str | None
    since: datetime
    queues: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TenantState:
    version: int = 0
    written_at: datetime | None = None
    offset: timedelta = timedelta(0)
    queues: dict[str, QueueRow] = field(default_factory=dict)
    agents: dict[str, AgentRow] = field(default_factory=dict)


EMPTY = TenantState()


class LiveHub:
    def __init__(self, store: Store, clock: Callable[[], datetime], poll_interval: float = 0.2) -> None:
        self.store = store
        self.clock = clock
        self.poll_interval = poll_interval
        self.states: dict[int, TenantState] = {}
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._wake = Wake()  # a NOTIFY (PostgreSQL, once ``listen`` made it) or a stop: poll now
        self._stopping = False
        self.closing = False  # the app is shutting down: streams end instead of waiting for the next change

    def state(self, tenant_id: int) -> TenantState:
        return self.states.get(tenant_id, EMPTY)

    def voice_now(self, tenant_id: int) -> datetime:
        """Now on the clock of the voice service that wrote the tenant's snapshot."""
        return self.clock() + self.state(tenant_id).offset

    async def poll_once(self) -> set[int]:
        """Load the tenants whose version moved; returns their ids.

        Plain rows (no ORM objects), and the moved tenants' queues and agents in one query each, however
        many tenants moved: on a NOTIFY this read is on the wallboard's path.
        """
        t, q, a = m.LiveTenant, m.LiveQueue, m.LiveAgent
        async with self.store.session() as session:
            rows = (await session.execute(select(t.tenant_id, t.version, t.written_at))).all()
            moved = {tid: (version, at) for tid, version, at in rows if self.state(tid).version != version}
            if not moved:
                return set()
            queues: dict[int, dict[str, QueueRow]] = {tid: {} for tid in moved}
            agents: dict[int, dict[str, AgentRow]] = {tid: {} for tid in moved}
            for tid, name, waiting, oldest_at in await session.execute(
                select(q.tenant_id, q.queue, q.waiting, q.oldest_at).where(q.tenant_id.in_(moved))
            ):
                queues[tid][name] = QueueRow(waiting, oldest_at)
            for tid, name, state, reason, since, in_queues in await session.execute(
                select(a.tenant_id, a.agent, a.state, a.reason, a.since, a.queues).where(a.tenant_id.in_(moved))
            ):
                agents[tid][name] = AgentRow(state, reason, since, tuple(in_queues))
        now = self.clock()
        loaded = {
            tid: TenantState(version, at, at - now, queues[tid], agents[tid]) for tid, (version, at) in moved.items()
        }
        async with self._changed:
            self.states.update(loaded)
            self._changed.notify_all()
        return set(loaded)

    async def wait_change(self, tenant_id: int, version: int, within: float) -> TenantState:
        """The tenant's state once its version differs from ``version`` (or as it is after ``within`` s, or at
        once when the app is closing)."""

        def changed() -> bool:
            return self.closing or self.state(tenant_id).version != version

        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(changed), within)
            return self.state(tenant_id)

    async def end_streams(self) -> None:
        """Shutting down (SIGTERM): wake every stream waiting for a change, so each ends its response now
        rather than hold the server until its stop timeout."""
        async with self._changed:
            self.closing = True
            self._changed.notify_all()

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.poll_once()
            except Exception as exc:  # the database restarting must not stop the wallboard for good
                log.warning("live snapshot poll failed: %s", type(exc).__name__)
            await self._wake.wait(self.poll_interval)

    async def listen(self) -> bool:
        """On PostgreSQL, LISTEN to the writer's NOTIFY; False when the store cannot (SQLite) or it failed."""
        self._wake = await Wake.open(self.store, NOTIFY_CHANNEL)
        return self._wake.listening

    async def start(self) -> None:
        await self.listen()
        self._task = asyncio.create_task(self.run(), name="live-poll")

    async def stop(self) -> None:
        # Let a poll in flight finish rather than cancel it mid-query (the driver's thread would outlive us).
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self._wake.close()
