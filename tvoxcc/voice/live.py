"""The ACD's live state copied to the store for the wallboard (the web app runs in another process).

The ACD (its router, a cache of the acd_* rows) knows who waits and what each agent does. After every decision
that produced events the ACD calls ``LiveWriter.changed``; the writer notes when each agent's state changed (the
router's own event time) and, at most once per ``debounce`` seconds (0.25 s: at 0.1 s a busy service wrote ten
snapshots a second, ~0.3 ms of its CPU a call at 40 calls/s, for a difference no eye sees; at 1 s a wallboard
would miss its "within a second" while calls flow), writes a snapshot of each tenant whose view changed: per queue
the callers waiting and when the longest waiting one queued, per agent its state, pause reason and since when
(tvoxcc.store.models.live). A burst of router events is one write; a lone event is written at once (leading edge),
the rest of a burst at the end of the window. On PostgreSQL each write also sends a NOTIFY, so the web app need
not wait for its next poll.

``snapshot`` is pure (router state in, plain values out); the writer is the thin adapter around it. Both read
the router through ``RouterReads`` (a Router, or the ACD service that holds one). Callers are voice items:
tickets and chats in the same queues are not counted as callers waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from tvoxcc.queues import model as q
from tvoxcc.queues.views import AgentView, ItemView, RouterView
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.models.live import NOTIFY_CHANNEL
from tvoxcc.store.one_hop import OneHop
from tvoxcc.voice.acd_config import agent_id

log = logging.getLogger(__name__)


class RouterReads(Protocol):
    def view(self) -> RouterView: ...

    def agent_view(self, agent_id: str) -> AgentView | None: ...

    def agent_state(self, agent_id: str) -> tuple[q.AgentStatus, str | None] | None: ...

    def agent_ids(self) -> list[str]: ...

    def item_view(self, item_id: str) -> ItemView | None: ...


ON_HOLD = frozenset({q.ItemStatus.WAITING, q.ItemStatus.OFFERED})  # the caller is on the line, not served yet


@dataclass(frozen=True, slots=True)
class QueueLive:
    waiting: int
    oldest_at: float | None  # router time the longest waiting caller entered this queue


@dataclass(frozen=True, slots=True)
class AgentLive:
    state: str
    reason: str | None
    since: float  # router time
    queues: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TenantLive:
    queues: Mapping[str, QueueLive]
    agents: Mapping[str, AgentLive]


def agent_live(agent: AgentView, queue_owner: Mapping[str, tuple[int, str]], since: float) -> AgentLive:
    served = tuple(sorted(queue_owner[mb.queue][1] for mb in agent.members if mb.queue in queue_owner))
    reason = agent.pause_code if agent.status is q.AgentStatus.PAUSED else None
    return AgentLive(str(agent.status), reason, since, served)


def on_hold(item: ItemView) -> bool:
    """A caller on the line, not served yet (tickets and chats in the same queues are not callers)."""
    return item.status in ON_HOLD and item.channel is q.Channel.VOICE


def tenants_live(
    queue_names: Iterable[str],
    queue_owner: Mapping[str, tuple[int, str]],
    agent_owner: Mapping[str, tuple[int, str]],
    agents: Mapping[str, AgentLive],
    holding: Iterable[tuple[str, float]],
) -> dict[int, TenantLive]:
    """Every tenant's live view from the router's queues, its agents' live rows and its callers on hold
    (queue, time queued); ``*_owner``: router name -> (tenant id, name in the tenant)."""
    waiting: dict[str, list[float]] = {}
    for queue, queued_at in holding:
        waiting.setdefault(queue, []).append(queued_at)
    queues: dict[int, dict[str, QueueLive]] = {}
    for name in queue_names:
        owner = queue_owner.get(name)
        if owner is not None:
            times = waiting.get(name, [])
            queues.setdefault(owner[0], {})[owner[1]] = QueueLive(len(times), min(times) if times else None)
    by_tenant: dict[int, dict[str, AgentLive]] = {}
    for ident, live in agents.items():
        owner = agent_owner.get(ident)
        if owner is not None:
            by_tenant.setdefault(owner[0], {})[owner[1]] = live
    tenants = set(queues) | set(by_tenant)
    return {t: TenantLive(queues.get(t, {}), by_tenant.get(t, {})) for t in tenants}


def snapshot(
    router: RouterReads,
    queue_owner: Mapping[str, tuple[int, str]],
    agent_owner: Mapping[str, tuple[int, str]],
    since: Mapping[str, float],
) -> dict[int, TenantLive]:
    """Every tenant's live view, from the whole router. ``*_owner``: router name -> (tenant id, name in the tenant)."""
    view = router.view()
    agents = {
        ident: agent_live(agent, queue_owner, since.get(ident, 0.0))
        for ident, agent in view.agents.items()
        if ident in agent_owner
    }
    holding = [(item.queue, item.queued_at) for item in view.items.values() if on_hold(item)]
    return tenants_live(view.queues, queue_owner, agent_owner, agents, holding)


_QUEUES: Table = m.LiveQueue.__table__  # type: ignore[assignment]
_AGENTS: Table = m.LiveAgent.__table__  # type: ignore[assignment]
_TENANTS: Table = m.LiveTenant.__table__  # type: ignore[assignment]
_DROP_QUEUES = delete(_QUEUES).where(_QUEUES.c.tenant_id == bindparam("tenant"))
_DROP_AGENTS = delete(_AGENTS).where(_AGENTS.c.tenant_id == bindparam("tenant"))
_DROP_SOME_QUEUES = _DROP_QUEUES.where(_QUEUES.c.queue.in_(bindparam("names", expanding=True)))
_DROP_SOME_AGENTS = _DROP_AGENTS.where(_AGENTS.c.agent.in_(bindparam("names", expanding=True)))
_ADD_QUEUES = insert(_QUEUES)
_ADD_AGENTS = insert(_AGENTS)
_UPSERTS: dict[tuple[str, str], Any] = {}  # (dialect, table) -> its upsert, built once


def _upsert(dialect: str, table: Table) -> Any:
    """INSERT … ON CONFLICT (the primary key) DO UPDATE: a changed row is one statement's row, not a delete and an
    insert (and no IN list, which SQLAlchemy compiles again for every length)."""
    statement = _UPSERTS.get((dialect, table.name))
    if statement is None:
        values = (postgresql if dialect == "postgresql" else sqlite).insert(table)
        keys = [c.name for c in table.primary_key]
        rest = {c.name: values.excluded[c.name] for c in table.columns if c.name not in keys}
        statement = _UPSERTS[(dialect, table.name)] = values.on_conflict_do_update(index_elements=keys, set_=rest)
    return statement


_BUMP = (
    update(_TENANTS)
    .where(_TENANTS.c.tenant_id == bindparam("tenant"))
    .values(version=_TENANTS.c.version + 1, written_at=bindparam("now"))
)
_FIRST = insert(_TENANTS)
_NOTIFY = text("SELECT pg_notify(:channel, :tenant)")


@dataclass(frozen=True, slots=True)
class _TenantWrite:
    """What a snapshot changes of one tenant's rows."""

    tenant_id: int
    whole: bool  # its first write: what a previous run left is replaced whole
    gone_queues: list[str]
    gone_agents: list[str]
    queues: list[dict[str, Any]]  # changed rows, upserted
    agents: list[dict[str, Any]]
    now: datetime


def _write(conn: Connection, writes: list[_TenantWrite]) -> None:
    """The changed tenants' rows in one transaction (tvoxcc.store.one_hop), with statements built once:
    SQLAlchemy Core, not the ORM, whose session cost more than the rows."""
    for write in writes:
        tenant = {"tenant": write.tenant_id}
        add_queues, add_agents = _ADD_QUEUES, _ADD_AGENTS
        if write.whole:
            conn.execute(_DROP_QUEUES, tenant)
            conn.execute(_DROP_AGENTS, tenant)
        else:  # changed rows are upserted, gone ones deleted
            add_queues, add_agents = _upsert(conn.dialect.name, _QUEUES), _upsert(conn.dialect.name, _AGENTS)
            if write.gone_queues:
                conn.execute(_DROP_SOME_QUEUES, {**tenant, "names": write.gone_queues})
            if write.gone_agents:
                conn.execute(_DROP_SOME_AGENTS, {**tenant, "names": write.gone_agents})
        if write.queues:
            conn.execute(add_queues, write.queues)
        if write.agents:
            conn.execute(add_agents, write.agents)
        if conn.execute(_BUMP, {**tenant, "now": write.now}).rowcount == 0:
            conn.execute(_FIRST, {"tenant_id": write.tenant_id, "version": 1, "written_at": write.now})
        if conn.dialect.name == "postgresql":
            # Delivered at commit: web apps listening look at once instead of at their next poll.
            conn.execute(_NOTIFY, {"channel": NOTIFY_CHANNEL, "tenant": str(write.tenant_id)})


def _at(router_time: float) -> datetime:
    return datetime.fromtimestamp(router_time, UTC)


class LiveWriter:
    def __init__(
        self,
        store: Store,
        router: RouterReads,
        clock: Callable[[], datetime],
        *,
        debounce: float = 0.25,
        timer: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.router = router
        self.clock = clock
        self.debounce = debounce
        # The debounce window's clock and wait (the event loop's by default); tests hold them to look inside it.
        self._timer = timer
        self._sleep = sleep
        self.queue_owner: dict[str, tuple[int, str]] = {}
        self.agent_owner: dict[str, tuple[int, str]] = {}
        self.since: dict[str, float] = {}  # router agent id -> router time of its last change of state/reason
        self._seen: dict[str, tuple[str, str | None]] = {}
        self._written: dict[int, TenantLive] = {}
        # What the next snapshot reads again from the router: only what decisions touched since the last one
        # (a whole view of the router cost ~1.5 ms a snapshot at 120 agents), everything when ``_whole``.
        self._whole = True  # the first snapshot, and after a configuration change
        self._queues: list[str] = []  # the router's queues at the last whole snapshot
        self._agents: dict[str, AgentLive] = {}  # router agent id -> its live row
        self._holding: dict[str, tuple[str, float]] = {}  # caller on hold (item id) -> (queue, time queued)
        self._touched_agents: set[str] = set()
        self._touched_items: set[str] = set()
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        self._last_write = float("-inf")
        self._started = 0.0  # agents never seen changing state are in it since the writer started
        self._lock = asyncio.Lock()  # one snapshot write at a time
        self._hop = OneHop(store, "live-writer")

    async def start(self) -> None:
        self._started = self.clock().timestamp()
        await self.learn_owners()

    async def learn_owners(self) -> None:
        """Learn which tenant owns each router queue and agent (names in the router carry the tenant); again
        whenever the ACD took a configuration change, so a new queue or agent shows on the wallboard."""
        queue_owner: dict[str, tuple[int, str]] = {}
        agent_owner: dict[str, tuple[int, str]] = {}
        async with self.store.session() as session:
            tenants = dict((await session.execute(select(m.Tenant.id, m.Tenant.name))).all())
            for tenant_id, name in (await session.execute(select(m.Queue.tenant_id, m.Queue.name))).all():
                queue_owner[f"{tenants[tenant_id]}/{name}"] = (tenant_id, name)
            for tenant_id, name in (await session.execute(select(m.Agent.tenant_id, m.Agent.name))).all():
                agent_owner[agent_id(tenants[tenant_id], name)] = (tenant_id, name)
        self.queue_owner, self.agent_owner = queue_owner, agent_owner
        self._whole = True

    def changed(self, outputs: q.Outputs) -> None:
        """Called by the ACD right after a router call (synchronously, so state times are exact)."""
        for command in outputs.commands:  # every change of an item or agent names it (tvoxcc.acd.rows.touched)
            if item_id := getattr(command, "item_id", None):
                self._touched_items.add(item_id)
            if agent_id := getattr(command, "agent_id", None):
                self._touched_agents.add(agent_id)
        for event in outputs.events:
            if event.item_id:
                self._touched_items.add(event.item_id)
            state = self.router.agent_state(event.agent_id) if event.agent_id else None
            if state is None or event.agent_id is None:
                continue
            self._touched_agents.add(event.agent_id)
            status, pause_code = state
            seen = (str(status), pause_code if status is q.AgentStatus.PAUSED else None)
            if self._seen.get(event.agent_id) != seen:
                self._seen[event.agent_id] = seen
                self.since[event.agent_id] = event.at
        if outputs.events:
            self._dirty = True
            if self._task is None or self._task.done():
                self._task = asyncio.create_task(self._flush_soon(), name="live-snapshot")

    def _now(self) -> float:
        return self._timer() if self._timer is not None else asyncio.get_running_loop().time()

    async def _flush_soon(self) -> None:
        while self._dirty:
            wait = self._last_write + self.debounce - self._now()
            if wait > 0:
                await self._sleep(wait)
            try:
                await self.flush()
            except Exception:
                log.exception("live snapshot not written")
                return

    async def flush(self) -> None:
        """Write the tenants whose view changed since the last write (all of them the first time)."""
        async with self._lock:
            self._dirty = False
            self._last_write = self._now()
            changed = {t: view for t, view in self._snapshot().items() if self._written.get(t) != view}
            if changed:
                now = self.clock()
                await self._hop.run(_write, [self._plan(t, view, now) for t, view in changed.items()])
                self._written.update(changed)

    def _snapshot(self) -> dict[int, TenantLive]:
        """``snapshot``, reading again only the agents and items touched since the last one."""
        touched_agents, self._touched_agents = self._touched_agents, set()
        touched_items, self._touched_items = self._touched_items, set()
        if self._whole:
            self._whole = False
            view = self.router.view()
            self._queues = list(view.queues)
            agents, touched_agents = view.agents, set(view.agents)
            self._agents = {}
            self._holding = {i: (item.queue, item.queued_at) for i, item in view.items.items() if on_hold(item)}
        else:
            agents = {}
            for item_id in touched_items:
                item = self.router.item_view(item_id)
                if item is not None and on_hold(item):
                    self._holding[item_id] = (item.queue, item.queued_at)
                else:
                    self._holding.pop(item_id, None)
        for ident in touched_agents:
            agent = agents.get(ident) or self.router.agent_view(ident)
            if agent is None:
                self._agents.pop(ident, None)
            else:
                self._agents[ident] = agent_live(agent, self.queue_owner, self.since.get(ident, self._started))
        return tenants_live(self._queues, self.queue_owner, self.agent_owner, self._agents, self._holding.values())

    def _plan(self, tenant_id: int, view: TenantLive, now: datetime) -> _TenantWrite:
        """The rows that changed since this tenant's last write (all of them the first time)."""
        before = self._written.get(tenant_id)
        old_queues = before.queues if before is not None else None
        old_agents = before.agents if before is not None else None
        queues = {n: v for n, v in view.queues.items() if old_queues is None or old_queues.get(n) != v}
        agents = {n: v for n, v in view.agents.items() if old_agents is None or old_agents.get(n) != v}
        queue_rows = [
            {"tenant_id": tenant_id, "queue": name, "waiting": queue.waiting,
             "oldest_at": None if queue.oldest_at is None else _at(queue.oldest_at)}
            for name, queue in queues.items()
        ]  # fmt: skip
        agent_rows = [
            {"tenant_id": tenant_id, "agent": name, "state": agent.state, "reason": agent.reason,
             "since": _at(agent.since), "queues": list(agent.queues)}
            for name, agent in agents.items()
        ]  # fmt: skip
        return _TenantWrite(
            tenant_id,
            before is None,
            sorted(set(old_queues or ()) - set(view.queues)),
            sorted(set(old_agents or ()) - set(view.agents)),
            queue_rows,
            agent_rows,
            now,
        )

    async def close(self) -> None:
        """Write what is pending (a change in the last debounce window is not lost)."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        if self._dirty:
            with contextlib.suppress(Exception):
                await self.flush()
        await self._hop.close()
