"""AcdService: the one router of a deployment, its state in the store, adapters in process or through the store.

Each request (an in-process method call, or a row of acd_inputs) is one router call at the service's clock;
the rows it changed are queued for the group-commit writer (tvoxcc.acd.writer) and its commands go to the
transports once those rows are committed. The router is a cache: ``start`` takes the lease, loads the rows
and restores it (tvoxcc.queues.engine.restore) before routing anything.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence

from tvoxcc.acd import run_loop
from tvoxcc.acd.commands import Command, ItemMeta, NewItem
from tvoxcc.acd.config import AcdConfig, ConfigSource
from tvoxcc.acd.decision_rows import DecisionRows
from tvoxcc.acd.dispatch import dispatch
from tvoxcc.acd.inputs import Input, pending
from tvoxcc.acd.lease import Lease, LeaseLost
from tvoxcc.acd.rows import Answer, Changes, item_meta, router_view, with_answers
from tvoxcc.acd.stored import load
from tvoxcc.acd.transport import InStore, Transport
from tvoxcc.acd.writer import DecisionWriter, replace_all
from tvoxcc.queues import model as q
from tvoxcc.queues import sync
from tvoxcc.queues.router import Router
from tvoxcc.queues.views import AgentView, ItemView, RouterView
from tvoxcc.store.engine import Store

log = logging.getLogger(__name__)


class NotRouting(Exception):
    """This ACD does not hold the lease (standby, or it lost it): it takes no request."""


class AcdService:
    def __init__(
        self,
        store: Store,
        config: ConfigSource,
        *,
        transports: Sequence[Transport] | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        router_factory: Callable[[random.Random], Router] = Router,
        lease_ttl_s: float = 15.0,
        standby_poll_s: float = 1.0,
        freeze_heap: bool = False,
        linger_s: float = 0.0,
    ) -> None:
        self.store = store
        self.config = config
        self.transports: list[Transport] = list(transports) if transports is not None else [InStore()]
        self.clock = clock
        self.rng = rng or random.Random()
        self.router_factory = router_factory
        self.lease = Lease(store, clock, ttl_s=lease_ttl_s)
        self.standby_poll_s = standby_poll_s
        self.freeze_heap = freeze_heap
        # ``linger_s``: how long a decision without commands may wait to share a later one's commit
        # (tvoxcc.acd.writer); 0: each commits at once.
        self.writer = DecisionWriter(store, self.lease, self.transports, build=self._build_rows, linger=linger_s)
        self.router: Router | None = None
        self.restored = q.Outputs()  # what the restore on start decided (cancelled offers, new ones)
        # An embedding adapter's copy of every decision's Outputs, at once (statistics, wallboard, queue_log):
        # the requests it makes itself, and the timers and other processes' requests the ACD applies.
        self.on_outputs: Callable[[q.Outputs], None] | None = None
        # An embedding adapter's proof of answers the rows may lack (an answer lingers uncommitted: the writer's
        # ``linger_s``): item id -> (agent, when), asked on start when an item is stored as offered, so a call
        # the agent took before a kill is restored as connected, not as ringing (its offer then cancelled).
        self.answers: Callable[[], Awaitable[Mapping[str, Answer]]] | None = None
        self.decision_rows = DecisionRows()  # items' tenants and channels, queue rows written: for the writer's rows
        # The router and configuration a look found nothing to change between (see ``apply_config``).
        self._in_line: tuple[Router, AcdConfig] | None = None
        self._last = 0.0
        self.applied_input = 0  # the last acd_inputs seq applied (its row is taken at the next commit)
        self.applying_inputs: set[int] = set()  # applied, their rows maybe not marked taken yet

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self, *, wait: bool = True) -> bool:
        """Take the lease (``wait``: as a standby until it is free), rebuild the router from the rows, route."""
        while not await self.lease.try_acquire():
            if not wait:
                return False
            await asyncio.sleep(self.standby_poll_s)
        config = await self.config.load()
        stored = await load(self.store)
        self.decision_rows.tenants = config.tenants
        items = stored.items
        if self.answers is not None and any(row["status"] == q.ItemStatus.OFFERED for row in items):
            items = with_answers(items, await self.answers())
        view = router_view(stored.router_at, config.queues, config.agents, items, stored.agents, stored.queues)
        self._last = max(self.clock(), stored.router_at)
        router = self.router_factory(self.rng)
        self.restored = router.restore(view, self._last)
        self.decision_rows.meta = {row["item_id"]: item_meta(row) for row in stored.items}
        self.decision_rows.channel = {row["item_id"]: q.Channel(row["channel"]) for row in stored.items}
        self.router = router
        self.writer.lost = None
        if self.on_outputs is not None:
            self.on_outputs(self.restored)
        changes = self._changes_of_all(self.restored)
        self.applied_input = 0
        self.applying_inputs = set()
        async with self.store.session() as session:
            await self.lease.fence(session, self._last)
            await replace_all(session, changes)
            for transport in self.transports:
                await transport.stage(session, changes.commands)
            await session.commit()
        for transport in self.transports:
            await transport.release(changes.commands)
        if self.freeze_heap:
            # The router and configuration live as long as the process: keep them out of the collector's full
            # passes, which otherwise walk them all (~100-200 ms at 2,000 agents: bench/universal.py's p99).
            # Process-wide, so only the commands that own their process ask for it (never tests).
            gc.collect()
            gc.freeze()
        return True

    async def run(
        self, stop: asyncio.Event, *, poll_s: float = 0.2, config_poll_s: float = 5.0, retry_s: float = 1.0
    ) -> None:
        """Standby until the lease is free, then route until ``stop`` is set: requests from acd_inputs (woken by
        NOTIFY on PostgreSQL, polled every ``poll_s`` on SQLite), timers, lease renewal, configuration changes.
        A lost lease or database makes it a standby again (tvoxcc.acd.run_loop)."""
        await run_loop.run(self, stop, poll_s, config_poll_s, retry_s)

    def router_next_timer_at(self) -> float | None:
        return self._router().next_timer_at()

    async def take_inputs(self, limit: int = 500) -> int:
        """Apply the requests other processes wrote (acd_inputs) since the last ones; returns how many."""
        self._router()
        cap = limit + len(self.applying_inputs)
        untaken = await pending(self.store, cap)
        # An applied request no longer untaken has its row committed: forget it (only below the last row
        # read when the read was cut at ``cap``: one further on may simply not have been read).
        seen = {r.seq for r in untaken}
        horizon = untaken[-1].seq if len(untaken) == cap else None
        self.applying_inputs = {s for s in self.applying_inputs if s in seen or (horizon is not None and s > horizon)}
        requests = [r for r in untaken if r.seq not in self.applying_inputs][:limit]
        for request in requests:
            self.apply_input(request)
        return len(requests)

    async def stop(self) -> None:
        """Write what is queued, give the lease up (a standby takes over at once)."""
        if self.router is not None:
            try:
                await self.writer.close_writer()
            finally:
                self.router = None
        await self.lease.release()

    async def crash(self) -> None:
        """Stop as a kill would: nothing queued is written, the lease is not given up (tests, failover)."""
        self.router = None
        await self.writer.abandon()
        await self.lease.abandon()

    async def flush(self) -> None:
        """Wait until every decision so far is committed and its commands released."""
        await self.writer.flush()

    @property
    def routing(self) -> bool:
        return self.router is not None

    def view(self) -> RouterView:
        return self._router().view()

    # Reads of one entity (no copy of the whole state), for an embedding adapter.
    def agent_view(self, agent_id: str) -> AgentView | None:
        return self._router().agent_view(agent_id)

    def item_view(self, item_id: str) -> ItemView | None:
        return self._router().item_view(item_id)

    def agent_ids(self) -> list[str]:
        return self._router().agent_ids()

    def has_agent(self, agent_id: str) -> bool:
        return self._router().has_agent(agent_id)

    def agent_status(self, agent_id: str) -> q.AgentStatus:
        return self._router().agent_status(agent_id)

    def agent_state(self, agent_id: str) -> tuple[q.AgentStatus, str | None] | None:
        return self._router().agent_state(agent_id)

    def estimate(self, item_id: str) -> q.WaitEstimate:
        return self._router().estimate(item_id)

    def next_timer_at(self) -> float | None:
        """When ``tick`` may have something to do (an embedding adapter that runs its own loop calls it then)."""
        return self._router().next_timer_at()

    # -- requests (in process: plain calls, no await; the rows follow in the next group commit) ---------

    def submit(self, item: NewItem) -> str:
        """Queue a new work item; returns its id."""
        return self.submit_item(item)[0]

    def submit_item(self, item: NewItem) -> tuple[str, q.Outputs]:
        """``submit``, with the decision's Outputs (an adapter that records router events wants them)."""
        item_id = item.item_id or f"{item.channel}-{uuid.uuid4().hex[:16]}"
        work = q.WorkItem(
            item_id,
            item.queue,
            item.channel,
            item.contact_priority,
            item.caller_id,
            item.callback_number,
            dict(item.skills),
            item.arrived_at,
            item.queued_at,
        )
        if self._router().has_item(item_id):
            raise q.RouterError(f"item {item_id!r} is already queued")
        self.decision_rows.meta[item_id] = ItemMeta(item.tenant_id, item.ref, item.auto_accept)
        self.decision_rows.channel[item_id] = item.channel
        out = self._decide(lambda r, now: r.enqueue(work, now))
        return item_id, out

    def accept(self, item_id: str, agent_id: str, *, bridged_id: str = "") -> q.Outputs:
        return self._decide(lambda r, now: r.accept(item_id, agent_id, now, bridged_id=bridged_id))

    def decline(self, item_id: str, agent_id: str) -> q.Outputs:
        return self._decide(lambda r, now: r.ring_no_answer(item_id, agent_id, now))

    def complete(self, item_id: str, *, by_caller: bool = False) -> q.Outputs:
        return self._decide(lambda r, now: r.complete(item_id, now, by_caller=by_caller))

    def abandon(self, item_id: str) -> q.Outputs:
        return self._decide(lambda r, now: r.abandon(item_id, now))

    def login(self, agent_id: str, *, interface: str = "") -> q.Outputs:
        return self._decide(lambda r, now: r.login(agent_id, now, interface=interface))

    def logout(self, agent_id: str) -> q.Outputs:
        return self._decide(lambda r, now: r.logout(agent_id, now))

    def pause(self, agent_id: str, code: str) -> q.Outputs:
        return self._decide(lambda r, now: r.pause(agent_id, now, code))

    def unpause(self, agent_id: str) -> q.Outputs:
        return self._decide(lambda r, now: r.unpause(agent_id, now))

    def end_wrapup(self, agent_id: str) -> q.Outputs:
        return self._decide(lambda r, now: r.end_wrapup(agent_id, now))

    def pull(self, agent_id: str, channel: q.Channel) -> q.Outputs:
        """The agent's next item on ``channel`` offered to them even while paused, within capacity (`support next`)."""
        return self._decide(lambda r, now: r.pull(agent_id, channel, now))

    def request_callback(self, item_id: str, number: str = "") -> q.Outputs:
        return self._decide(lambda r, now: r.request_callback(item_id, now, number=number))

    def callback_answered(self, item_id: str) -> q.Outputs:
        return self._decide(lambda r, now: r.callback_answered(item_id, now))

    def callback_failed(self, item_id: str) -> q.Outputs:
        return self._decide(lambda r, now: r.callback_failed(item_id, now))

    def tick(self) -> q.Outputs:
        """Fire the timers due (ring timeouts, wrap-up ends, relaxation, overflow…); ``run`` calls it."""
        return self._decide(lambda r, now: r.tick(now))

    def apply_config(self, config: AcdConfig) -> int:
        """Bring the router to ``config`` (live: nothing waiting is lost); returns the number of changes."""
        router = self._router()
        # Only a configuration change (``sync.apply``) or a new router changes the router's configuration: the
        # same configuration (StoreConfig hands back the one built last) on the same router, in line at the last
        # look, still is — unless the router holds an agent the configuration lost, whose logout waits on its
        # state. So the look (~2 ms at 120 agents, every few seconds) is skipped.
        if self._still_in_line(router, config):
            return 0
        changes = sync.changes(router, config.queues, config.agents)
        self._in_line = (router, config) if not changes else None
        self.decision_rows.tenants = config.tenants
        out = q.Outputs()
        for change in changes:
            step = self._decide(_applying(change), record=False)
            out.commands += step.commands
            out.events += step.events
        if changes:  # a reconfigured queue re-orders its waiting items without events: write everything
            self.writer.put(self._changes_of_all(out))
        return len(changes)

    def _still_in_line(self, router: Router, config: AcdConfig) -> bool:
        if self._in_line is None or self._in_line[0] is not router or self._in_line[1] is not config:
            return False
        return set(router.agent_ids()) <= {agent.agent_id for agent, _ in config.agents}

    async def reload_config(self) -> int:
        return self.apply_config(await self.config.load())

    def apply_input(self, request: Input) -> None:
        """A request read from acd_inputs; a refusal is stored on its row (it never raises RouterError)."""
        error: str | None = None
        try:
            dispatch(self, request)
        except (q.RouterError, KeyError, ValueError) as refused:
            error = str(refused)[:255] or type(refused).__name__
        self.applied_input = max(self.applied_input, request.seq)
        self.applying_inputs.add(request.seq)
        changes = Changes(router_at=self._last)
        changes.inputs[request.seq] = error
        self.writer.put(changes)

    # -- one decision ----------------------------------------------------------------------------------

    def _router(self) -> Router:
        if self.router is None:
            raise NotRouting("this ACD is not routing (standby, or stopped)")
        if self.writer.lost is not None:
            self.router = None
            raise NotRouting(f"this ACD lost its lease: {self.writer.lost}")
        return self.router

    def _decide(self, call: Callable[[Router, float], q.Outputs], *, record: bool = True) -> q.Outputs:
        router = self._router()
        now = self._last = max(self.clock(), self._last)
        # The timers due first, on their own: a call the router refuses has fired them already, and what
        # they decided (a ring timeout, a wrap-up end) must reach the rows all the same.
        out = router.tick(now)
        try:
            step = call(router, now)
        finally:
            if out.commands or out.events:
                self._auto_accept(router, out, now)
                self.writer.put(self.decision_rows.touched(out, now))
                if self.on_outputs is not None:
                    self.on_outputs(out)
        self._auto_accept(router, step, now)
        if record:
            self.writer.put(self.decision_rows.touched(step, now))
        if self.on_outputs is not None and (step.commands or step.events or step.queue_log):
            self.on_outputs(step)
        return _joined(out, step)

    def _auto_accept(self, router: Router, out: q.Outputs, now: float) -> None:
        """Offers of items taken at once (tickets) are accepted in the same decision."""
        index = 0
        while index < len(out.commands):
            command = out.commands[index]
            index += 1
            if isinstance(command, q.Offer) and self.decision_rows.meta.get(command.item_id, ItemMeta()).auto_accept:
                item = router.item_view(command.item_id)
                if item is not None and item.status is q.ItemStatus.OFFERED and command.agent_id in item.offered_to:
                    more = router.accept(command.item_id, command.agent_id, now)
                    out.commands += more.commands
                    out.events += more.events
                    out.queue_log += more.queue_log

    def _build_rows(self, changes: Changes) -> None:
        router = self.router
        if router is None:
            return
        self.decision_rows.build(router, changes)

    def _changes_of_all(self, out: q.Outputs) -> Changes:
        router = self._router()
        return self.decision_rows.of_all(router.view(), out, self._last)


def _joined(first: q.Outputs, then: q.Outputs) -> q.Outputs:
    if not (first.commands or first.events or first.queue_log):
        return then
    return q.Outputs(first.commands + then.commands, first.events + then.events, first.queue_log + then.queue_log)


def _applying(change: sync.Change) -> Callable[[Router, float], q.Outputs]:
    return lambda router, now: sync.apply(router, change, now)


__all__ = ["AcdService", "Command", "LeaseLost", "NewItem", "NotRouting"]
