"""The ACD router: a pure state machine over queues, agents and work items.

Each public method takes ``now`` (seconds), first fires the timers that are due, applies the call, and
returns the Outputs it produced: commands for the adapters, events for statistics, queue_log lines.
Nothing here reads a clock, does I/O or draws randomness other than from the injected ``random.Random``.

The two routing decisions never scan agents or items:
- an item looking for an agent reads the head of the per-(queue, capacity channel, tier) agent indexes
  for tiers 0..stage (tvoxcc.queues.strategies);
- an agent looking for an item reads the head of the per-(queue, item channel, stage) waiting heaps for
  stages >= its tier, for each of its queues and channels it has room on.
Indexes are kept current incrementally: an agent is re-filed only on its own state changes.
"""

from __future__ import annotations

import bisect
import heapq
import random
from collections.abc import Mapping

from tvoxcc.queues import queue_log
from tvoxcc.queues.ewt import expected_wait
from tvoxcc.queues.model import (
    CAPACITY_CHANNEL,
    ITEM_CHANNELS,
    AgentConfig,
    AgentStatus,
    CancelOffer,
    Channel,
    Command,
    EndWrapup,
    Event,
    EventKind,
    ExitQueue,
    ItemStatus,
    Offer,
    Outputs,
    Overflow,
    OverflowAction,
    OverflowRule,
    OverflowWhen,
    PauseAgent,
    PlaceCallback,
    QueueConfig,
    RouterError,
    StartWrapup,
    Strategy,
    WaitEstimate,
    WorkItem,
)
from tvoxcc.queues.skills import stage_at
from tvoxcc.queues.state import Agent, Item, Member, QueueState, WaitEntry
from tvoxcc.queues.strategies import all_agents, select_agent

# Timer kinds; a timer is (due, seq, kind, id, token, extra) and is ignored when its token is stale.
_RELAX, _OVERFLOW_WAIT, _MAX_WAIT, _OFFER_TIMEOUT, _WRAPUP_END, _CALLBACK_RETRY = range(6)
Timer = tuple[float, int, int, str, int, int]


def _turns_away(q: QueueState, item: Item, rule: OverflowRule) -> bool:
    if rule.when is OverflowWhen.NO_AGENTS:
        return q.logged_in == 0
    return rule.when is OverflowWhen.LENGTH and rule.length is not None and q.length(item.channel) >= rule.length


class Router:
    def __init__(
        self,
        rng: random.Random,
        *,
        handle_time_s: float = 180.0,
        callback_retry_s: float = 300.0,
        callback_attempts: int = 3,
        max_overflow_hops: int = 8,
    ) -> None:
        self.rng = rng
        self.handle_time_s = handle_time_s
        self.callback_retry_s = callback_retry_s
        self.callback_attempts = callback_attempts
        self.max_overflow_hops = max_overflow_hops
        self.queues: dict[str, QueueState] = {}
        self.agents: dict[str, Agent] = {}
        self.items: dict[str, Item] = {}
        self._timers: list[Timer] = []
        self._timer_seq = 0
        self._arrival_seq = 0
        self._now = 0.0
        self._out = Outputs()

    # ------------------------------------------------------------------ configuration

    def add_queue(self, config: QueueConfig, now: float) -> Outputs:
        out = self._begin(now)
        if config.name in self.queues:
            raise RouterError(f"queue {config.name!r} already exists")
        self.queues[config.name] = QueueState(config, self.handle_time_s)
        return out

    def update_queue(self, config: QueueConfig, now: float) -> Outputs:
        """Live reconfiguration: tiers, indexes and waiting items are rebuilt for this queue only."""
        out = self._begin(now)
        q = self._queue(config.name)
        waiting = list(q.waiting_items.values())
        for item in waiting:
            self._leave_waiting(item, q)
        q.config = config
        q.agents.clear()
        q.waiting.clear()
        for member in q.members.values():
            member.tier = q.compute_tier(self.agents[member.agent_id].skills)
            self._file_member(q, member, self.agents[member.agent_id])
        for item in waiting:
            item.queue_token += 1
            item.key = (-q.effective_priority(item.channel, item.contact_priority), item.arrived_at, item.key[2])
            self._enter_waiting(item, q)
            self._arm_wait_timers(item, q)
        for item in waiting:
            if item.status is ItemStatus.WAITING:
                self._route_item(item)
        for member in list(q.members.values()):
            self._route_agent(self.agents[member.agent_id])
        return out

    def add_agent(self, config: AgentConfig, now: float) -> Outputs:
        out = self._begin(now)
        if config.agent_id in self.agents:
            raise RouterError(f"agent {config.agent_id!r} already exists")
        self.agents[config.agent_id] = Agent(config)
        return out

    def add_member(self, agent_id: str, queue: str, now: float, *, penalty: int = 0, weight: int = 1) -> Outputs:
        out = self._begin(now)
        agent, q = self._agent(agent_id), self._queue(queue)
        if queue in agent.members:
            raise RouterError(f"agent {agent_id!r} is already a member of {queue!r}")
        member = Member(queue, agent_id, penalty, weight, q.next_position)
        q.next_position += 1
        member.tier = q.compute_tier(agent.skills)
        agent.members[queue] = member
        q.members[agent_id] = member
        if agent.logged_in:
            q.logged_in += 1
        self._file_member(q, member, agent)
        self._log(queue_log.member(now, queue, agent_id, added=True))
        self._event(EventKind.MEMBER_ADDED, queue=queue, agent_id=agent_id)
        self._route_agent(agent)
        return out

    def remove_member(self, agent_id: str, queue: str, now: float) -> Outputs:
        out = self._begin(now)
        agent, q = self._agent(agent_id), self._queue(queue)
        member = agent.members.pop(queue, None)
        if member is None:
            raise RouterError(f"agent {agent_id!r} is not a member of {queue!r}")
        del q.members[agent_id]
        self._unfile_member(q, member)
        self._log(queue_log.member(now, queue, agent_id, added=False))
        self._event(EventKind.MEMBER_REMOVED, queue=queue, agent_id=agent_id)
        if agent.logged_in:
            q.logged_in -= 1
            if q.logged_in == 0:
                self._queue_emptied(q)
        return out

    def set_skill(self, agent_id: str, skill: str, level: int | None, now: float) -> Outputs:
        """Set (or with None remove) a skill; only the memberships of queues that ask for it are re-tiered."""
        out = self._begin(now)
        agent = self._agent(agent_id)
        if level is None:
            agent.skills.pop(skill, None)
        else:
            agent.skills[skill] = level
        self._event(EventKind.SKILL_CHANGED, agent_id=agent_id, detail=skill, value=level)
        for member in agent.members.values():
            q = self.queues[member.queue]
            if skill in q.config.skills:
                tier = q.compute_tier(agent.skills)
                if tier != member.tier:
                    self._unfile_member(q, member)
                    member.tier = tier
                    self._file_member(q, member, agent)
        self._route_agent(agent)
        return out

    def set_capacity(
        self, agent_id: str, capacity: Mapping[Channel, int], now: float, *, voice_blocks_others: bool | None = None
    ) -> Outputs:
        out = self._begin(now)
        agent = self._agent(agent_id)
        agent.capacity = dict(capacity)
        if voice_blocks_others is not None:
            agent.voice_blocks_others = voice_blocks_others
        for member in agent.members.values():
            self._file_member(self.queues[member.queue], member, agent)
        self._event(EventKind.CAPACITY_CHANGED, agent_id=agent_id, detail=repr(sorted(agent.capacity.items())))
        self._refresh(agent)
        self._route_agent(agent)
        return out

    # ------------------------------------------------------------------ agents

    def login(self, agent_id: str, now: float, *, interface: str = "") -> Outputs:
        out = self._begin(now)
        agent = self._agent(agent_id)
        if agent.logged_in:
            return out
        agent.logged_in, agent.login_at, agent.idle_since, agent.interface = True, now, now, interface
        for member in agent.members.values():
            self.queues[member.queue].logged_in += 1
        self._log(queue_log.agent_login(now, agent_id, interface))
        self._event(EventKind.AGENT_LOGGED_IN, agent_id=agent_id, detail=interface)
        self._refresh(agent, rekey=True)
        self._route_agent(agent)
        return out

    def logout(self, agent_id: str, now: float) -> Outputs:
        out = self._begin(now)
        agent = self._agent(agent_id)
        if not agent.logged_in:
            return out
        if agent.connected or agent.reserved:
            raise RouterError(f"agent {agent_id!r} cannot log out with items in hand")
        agent.logged_in, agent.pause_code, agent.wrapup_until = False, None, 0.0
        agent.wrapup_token += 1
        self._log(queue_log.agent_logoff(now, agent_id, agent.interface, now - agent.login_at))
        self._event(EventKind.AGENT_LOGGED_OUT, agent_id=agent_id, value=now - agent.login_at)
        self._refresh(agent)
        for member in agent.members.values():
            q = self.queues[member.queue]
            q.logged_in -= 1
            if q.logged_in == 0:
                self._queue_emptied(q)
        return out

    def pause(self, agent_id: str, now: float, code: str) -> Outputs:
        """Pause with an activity code (lunch, training, RONA…); no new offers until unpaused."""
        out = self._begin(now)
        agent = self._agent(agent_id)
        if not agent.logged_in:
            raise RouterError(f"agent {agent_id!r} is logged out")
        self._pause(agent, code)
        return out

    def unpause(self, agent_id: str, now: float) -> Outputs:
        out = self._begin(now)
        agent = self._agent(agent_id)
        if agent.pause_code is None:
            return out
        agent.pause_code = None
        for queue in agent.members:
            self._log(queue_log.pause(now, queue, agent_id, paused=False, reason=""))
        self._event(EventKind.AGENT_UNPAUSED, agent_id=agent_id)
        self._refresh(agent)
        self._route_agent(agent)
        return out

    def end_wrapup(self, agent_id: str, now: float) -> Outputs:
        out = self._begin(now)
        agent = self._agent(agent_id)
        if agent.wrapup_until:
            self._wrapup_over(agent)
        return out

    def agent_status(self, agent_id: str) -> AgentStatus:
        return self._agent(agent_id).status

    # ------------------------------------------------------------------ items

    def enqueue(self, work: WorkItem, now: float) -> Outputs:
        out = self._begin(now)
        if work.item_id in self.items:
            raise RouterError(f"item {work.item_id!r} is already queued")
        self._queue(work.queue)
        item = Item(work.item_id, work.channel, work.contact_priority, work.caller_id, now)
        item.callback_number = work.callback_number
        self.items[work.item_id] = item
        self._enter_queue(item, work.queue, hops=0)
        return out

    def accept(self, item_id: str, agent_id: str, now: float, *, bridged_id: str = "") -> Outputs:
        """The agent answered the offer: connect, and cancel the ring on the others (ring-all)."""
        out = self._begin(now)
        item = self._item(item_id)
        offered_at = item.offered_to.get(agent_id) if item.status is ItemStatus.OFFERED else None
        if offered_at is None:
            raise RouterError(f"item {item_id!r} is not ringing agent {agent_id!r}")
        q = self.queues[item.queue]
        cap = CAPACITY_CHANNEL[item.channel]
        others = [a for a in item.offered_to if a != agent_id]
        item.offered_to.clear()
        item.offer_token += 1
        for other_id in others:
            other = self.agents[other_id]
            other.release(cap)
            other.reserved -= 1
            self._command(CancelOffer(item_id, other_id, "answered-elsewhere"))
            self._event(EventKind.OFFER_CANCELLED, queue=q.config.name, item_id=item_id, agent_id=other_id)
            self._refresh(other)
        agent = self.agents[agent_id]
        agent.reserved -= 1
        agent.connected += 1
        item.status, item.agent_id, item.connected_at = ItemStatus.CONNECTED, agent_id, now
        hold = now - item.queued_at
        self._log(queue_log.connect(now, item_id, q.config.name, agent_id, hold, bridged_id, now - offered_at))
        self._event(EventKind.ITEM_CONNECTED, queue=q.config.name, item_id=item_id, agent_id=agent_id, value=hold)
        self._refresh(agent)
        for other_id in others:
            self._route_agent(self.agents[other_id])
        return out

    def ring_no_answer(self, item_id: str, agent_id: str, now: float) -> Outputs:
        """The agent did not answer (or declined); a stale report (already answered elsewhere) is ignored."""
        out = self._begin(now)
        item = self._item(item_id)
        if item.status is ItemStatus.OFFERED and agent_id in item.offered_to:
            self._rona(item, agent_id)
        return out

    def complete(self, item_id: str, now: float, *, by_caller: bool = False) -> Outputs:
        out = self._begin(now)
        item = self._item(item_id)
        if item.status is not ItemStatus.CONNECTED or item.agent_id is None:
            raise RouterError(f"item {item_id!r} is not connected")
        q = self.queues[item.queue]
        config = q.config
        agent = self.agents[item.agent_id]
        talk = now - item.connected_at
        self._log(
            queue_log.complete(
                now,
                item_id,
                config.name,
                agent.agent_id,
                by_caller,
                item.connected_at - item.queued_at,
                talk,
                item.orig_position,
            )
        )
        self._event(
            EventKind.ITEM_COMPLETED,
            queue=config.name,
            item_id=item_id,
            agent_id=agent.agent_id,
            detail="caller" if by_caller else "agent",
            value=talk,
        )
        q.handle_time.add(talk + config.wrapup_s)
        self._forget(item)
        agent.release(CAPACITY_CHANNEL[item.channel])
        agent.connected -= 1
        agent.handled += 1
        agent.idle_since = now
        member = agent.members.get(config.name)
        if member is not None:
            member.handled += 1
        if config.wrapup_s > 0:
            agent.wrapup_until = max(agent.wrapup_until, now + config.wrapup_s)
            agent.wrapup_token += 1
            self._command(StartWrapup(agent.agent_id, agent.wrapup_until))
            self._timer(agent.wrapup_until, _WRAPUP_END, agent.agent_id, agent.wrapup_token)
        self._refresh(agent, rekey=True)
        self._route_agent(agent)
        return out

    def abandon(self, item_id: str, now: float) -> Outputs:
        """The customer left while waiting or ringing (or cancelled a pending callback)."""
        out = self._begin(now)
        item = self._item(item_id)
        q = self.queues[item.queue]
        released: list[Agent] = []
        if item.status is ItemStatus.WAITING:
            self._leave_waiting(item, q)
        elif item.status is ItemStatus.OFFERED:
            released = self._cancel_offers(item, "abandoned")
        elif item.status is not ItemStatus.CALLBACK_PENDING:
            raise RouterError(f"item {item_id!r} is {item.status}, not waiting")
        wait = now - item.queued_at
        self._log(queue_log.left_queue(now, item_id, q.config.name, "ABANDON", item.position, item.orig_position, wait))
        self._event(EventKind.ITEM_ABANDONED, queue=q.config.name, item_id=item_id, value=wait)
        self._forget(item)
        for agent in released:
            self._route_agent(agent)
        return out

    def request_callback(self, item_id: str, now: float, *, number: str = "") -> Outputs:
        """The caller leaves the line but keeps their place; they are called back when their turn comes."""
        out = self._begin(now)
        item = self._item(item_id)
        if item.status is not ItemStatus.WAITING or item.channel is not Channel.VOICE:
            raise RouterError(f"item {item_id!r} is not a waiting call")
        number = number or item.callback_number or item.caller_id
        if not number:
            raise RouterError(f"item {item_id!r}: no number to call back")
        self._to_callback(item, self.queues[item.queue], number)
        return out

    def callback_answered(self, item_id: str, now: float) -> Outputs:
        """The customer picked up the callback: ring the agent reserved for it."""
        out = self._begin(now)
        item = self._item(item_id)
        if item.status is not ItemStatus.DIALING or item.agent_id is None:
            raise RouterError(f"item {item_id!r} is not being called back")
        q = self.queues[item.queue]
        agent_id = item.agent_id
        item.agent_id = None
        self._event(EventKind.CALLBACK_ANSWERED, queue=q.config.name, item_id=item_id, agent_id=agent_id)
        self._ring(item, q, agent_id)
        return out

    def callback_failed(self, item_id: str, now: float) -> Outputs:
        """No answer/busy: free the agent and retry later at the same place, up to callback_attempts."""
        out = self._begin(now)
        item = self._item(item_id)
        if item.status is not ItemStatus.DIALING or item.agent_id is None:
            raise RouterError(f"item {item_id!r} is not being called back")
        q = self.queues[item.queue]
        agent = self.agents[item.agent_id]
        agent.release(CAPACITY_CHANNEL[item.channel])
        agent.reserved -= 1
        item.agent_id = None
        item.callback_attempts += 1
        self._event(EventKind.CALLBACK_FAILED, queue=q.config.name, item_id=item_id, value=item.callback_attempts)
        if item.callback_attempts >= self.callback_attempts:
            self._command(ExitQueue(item_id, q.config.name, "callback-failed"))
            self._forget(item)
        else:
            item.status = ItemStatus.CALLBACK_PENDING
            self._timer(now + self.callback_retry_s, _CALLBACK_RETRY, item_id, item.queue_token)
        self._refresh(agent)
        self._route_agent(agent)
        return out

    def tick(self, now: float) -> Outputs:
        """Fire due timers: relaxation, overflow, max wait, ring timeouts, wrap-up ends, callback retries."""
        return self._begin(now)

    def estimate(self, item_id: str) -> WaitEstimate:
        item = self._item(item_id)
        q = self.queues[item.queue]
        position = q.position_of(item.channel, item.key) if item.status is ItemStatus.WAITING else 1
        cap = CAPACITY_CHANNEL[item.channel]
        servers = 0
        for member in q.members.values():
            agent = self.agents[member.agent_id]
            if member.tier is not None and agent.logged_in and agent.pause_code is None:
                servers += agent.capacity.get(cap, 0)
        handle = q.handle_time.value
        return WaitEstimate(position, expected_wait(position, handle, servers), servers, handle)

    # ------------------------------------------------------------------ decisions (overridden by reference.py)

    def _pick_agents(self, q: QueueState, item: Item) -> list[str]:
        all_tiers = q.agents.get(CAPACITY_CHANNEL[item.channel])
        if all_tiers is None:
            return []  # no member has capacity on this channel
        tiers = all_tiers[: item.stage + 1]
        if q.config.strategy is Strategy.RING_ALL:
            return all_agents(tiers, item.tried) or all_agents(tiers, ())
        chosen = select_agent(tiers, q.rr_last, self.rng, item.tried)
        if chosen is None and item.tried:
            # Everyone else is busy: ringing the one who just did not answer again beats not ringing at all.
            chosen = select_agent(tiers, q.rr_last, self.rng, ())
        return [] if chosen is None else [chosen]

    def _pick_item(self, agent: Agent) -> Item | None:
        best: WaitEntry | None = None
        items = self.items
        available = agent.available
        for member in agent.members.values():
            tier = member.tier
            if tier is None:
                continue
            waiting = self.queues[member.queue].waiting
            if not waiting:
                continue
            for cap in available:
                for channel in ITEM_CHANNELS[cap]:
                    stages = waiting.get(channel)
                    if stages is None:
                        continue
                    for stage in range(tier, len(stages)):
                        heap = stages[stage]
                        # Inlined head-of-heap with lazy deletion: this loop is the hot path of a freed agent.
                        while heap:
                            entry = heap[0]
                            item = items.get(entry[2])
                            if item is not None and item.wait_token == entry[1]:
                                if best is None or entry[0] < best[0]:
                                    best = entry
                                break
                            heapq.heappop(heap)
        return None if best is None else items[best[2]]

    # ------------------------------------------------------------------ routing

    def _route_item(self, item: Item) -> None:
        q = self.queues[item.queue]
        chosen = self._pick_agents(q, item)
        if chosen:
            self._offer(item, q, chosen)

    def _route_agent(self, agent: Agent) -> None:
        while agent.available:
            item = self._pick_item(agent)
            if item is None:
                return
            self._offer(item, self.queues[item.queue], [agent.agent_id])

    def _offer(self, item: Item, q: QueueState, agent_ids: list[str]) -> None:
        self._leave_waiting(item, q)
        cap = CAPACITY_CHANNEL[item.channel]
        if item.channel is Channel.CALLBACK:
            # Reserve one agent while the customer's phone rings; ring the agent once they answer.
            agent = self.agents[agent_ids[0]]
            agent.take(cap)
            agent.reserved += 1
            item.status, item.agent_id = ItemStatus.DIALING, agent.agent_id
            self._command(PlaceCallback(item.item_id, agent.agent_id, q.config.name, item.callback_number))
            self._event(EventKind.CALLBACK_PLACED, queue=q.config.name, item_id=item.item_id, agent_id=agent.agent_id)
            q.rr_last = agent.members[q.config.name].position
            self._refresh(agent)
            return
        for agent_id in agent_ids:
            agent = self.agents[agent_id]
            agent.take(cap)
            agent.reserved += 1
        self._ring(item, q, *agent_ids)
        q.rr_last = self.agents[agent_ids[-1]].members[q.config.name].position

    def _ring(self, item: Item, q: QueueState, *agent_ids: str) -> None:
        """Offer to agents whose capacity is already taken for the item; arm the ring timeout."""
        now, config = self._now, q.config
        item.status = ItemStatus.OFFERED
        item.offer_token += 1
        item.offered_at = now
        item.offer_deadline = now + config.ring_timeout_s
        for agent_id in agent_ids:
            item.offered_to[agent_id] = now
            self._command(Offer(item.item_id, agent_id, config.name, item.channel, config.ring_timeout_s))
            self._event(EventKind.ITEM_OFFERED, queue=config.name, item_id=item.item_id, agent_id=agent_id)
            self._refresh(self.agents[agent_id])
        self._timer(item.offer_deadline, _OFFER_TIMEOUT, item.item_id, item.offer_token)

    def _rona(self, item: Item, agent_id: str) -> None:
        now = self._now
        q = self.queues[item.queue]
        config = q.config
        agent = self.agents[agent_id]
        offered_at = item.offered_to.pop(agent_id)
        agent.release(CAPACITY_CHANNEL[item.channel])
        agent.reserved -= 1
        item.tried.add(agent_id)
        self._log(queue_log.ring_no_answer(now, item.item_id, config.name, agent_id, now - offered_at))
        self._event(EventKind.RING_NO_ANSWER, queue=config.name, item_id=item.item_id, agent_id=agent_id)
        if config.rona_pause and agent.pause_code is None:
            self._command(PauseAgent(agent_id, config.rona_pause_code))
            self._pause(agent, config.rona_pause_code)
        else:
            self._refresh(agent)
        if not item.offered_to:
            item.offer_token += 1
            if item.channel is Channel.CALLBACK:
                item.channel = Channel.VOICE  # the customer is on the line now: a call like any other
            self._enter_waiting(item, q)
            self._event(EventKind.ITEM_REQUEUED, queue=config.name, item_id=item.item_id)
            self._route_item(item)
        self._route_agent(agent)

    def _cancel_offers(self, item: Item, reason: str) -> list[Agent]:
        cap = CAPACITY_CHANNEL[item.channel]
        released = []
        for agent_id in item.offered_to:
            agent = self.agents[agent_id]
            agent.release(cap)
            agent.reserved -= 1
            self._command(CancelOffer(item.item_id, agent_id, reason))
            self._event(EventKind.OFFER_CANCELLED, queue=item.queue, item_id=item.item_id, agent_id=agent_id)
            self._refresh(agent)
            released.append(agent)
        item.offered_to.clear()
        item.offer_token += 1
        return released

    # ------------------------------------------------------------------ queue membership of items

    def _enter_queue(self, item: Item, queue: str, hops: int) -> None:
        q = self.queues[queue]
        now = self._now
        item.queue, item.queued_at = queue, now
        item.queue_token += 1
        item.tried.clear()
        self._arrival_seq += 1
        item.key = (-q.effective_priority(item.channel, item.contact_priority), item.arrived_at, self._arrival_seq)
        if hops < self.max_overflow_hops:
            # Asterisk's joinempty/maxlen: a diverted item never enters, so there is no ENTERQUEUE for it.
            for rule in q.config.overflow:
                if _turns_away(q, item, rule) and self._divert(item, q, rule, hops, exit_event=None):
                    return
        item.orig_position = q.position_of(item.channel, item.key)
        self._log(queue_log.enter_queue(now, item.item_id, queue, item.caller_id, item.orig_position))
        self._event(EventKind.ITEM_QUEUED, queue=queue, item_id=item.item_id, value=item.orig_position)
        self._enter_waiting(item, q)
        self._arm_wait_timers(item, q)
        self._route_item(item)

    def _arm_wait_timers(self, item: Item, q: QueueState) -> None:
        for index, rule in enumerate(q.config.overflow):
            if rule.when is OverflowWhen.WAIT and rule.after_s is not None:
                self._timer(item.queued_at + rule.after_s, _OVERFLOW_WAIT, item.item_id, item.queue_token, index)
        if q.config.max_wait_s is not None:
            self._timer(item.queued_at + q.config.max_wait_s, _MAX_WAIT, item.item_id, item.queue_token)

    def _enter_waiting(self, item: Item, q: QueueState) -> None:
        relax = q.config.relax
        item.status = ItemStatus.WAITING
        item.stage = stage_at(relax, item.queued_at, self._now)
        item.wait_token += 1
        stages = q.waiting.get(item.channel)
        if stages is None:
            stages = q.waiting[item.channel] = [[] for _ in range(q.stages)]
        heapq.heappush(stages[item.stage], (item.key, item.wait_token, item.item_id))
        order = q.order.get(item.channel)
        if order is None:
            order = q.order[item.channel] = []
        bisect.insort(order, item.key)
        q.waiting_items[item.item_id] = item
        if item.stage < len(relax):
            self._timer(item.queued_at + relax[item.stage].after_s, _RELAX, item.item_id, item.wait_token)

    def _leave_waiting(self, item: Item, q: QueueState) -> None:
        if item.status is not ItemStatus.WAITING:
            return
        item.wait_token += 1  # its heap entry is now stale
        heap = q.waiting[item.channel][item.stage]
        while heap and heap[0][2] == item.item_id:
            heapq.heappop(heap)  # usually it was the head: drop it now rather than in a later decision
        order = q.order[item.channel]
        index = bisect.bisect_left(order, item.key)
        item.position = index + 1
        del order[index]
        del q.waiting_items[item.item_id]

    def _forget(self, item: Item) -> None:
        item.status = ItemStatus.DONE
        item.queue_token += 1
        item.wait_token += 1
        del self.items[item.item_id]

    def _to_callback(self, item: Item, q: QueueState, number: str) -> None:
        """Swap a waiting call for a callback with the same order key: the place in line is kept."""
        self._leave_waiting(item, q)
        item.channel = Channel.CALLBACK
        item.callback_number = number
        self._enter_waiting(item, q)
        self._event(EventKind.CALLBACK_REQUESTED, queue=q.config.name, item_id=item.item_id, detail=number)
        self._route_item(item)

    def _divert(self, item: Item, q: QueueState, rule: OverflowRule, hops: int, exit_event: str | None) -> bool:
        """Apply an overflow rule; False when it does not apply to this item (then the next rule is tried)."""
        action = rule.action
        number = item.callback_number or item.caller_id
        if action is OverflowAction.QUEUE and (rule.target not in self.queues or rule.target == q.config.name):
            return False
        if action is OverflowAction.CALLBACK and (item.channel is not Channel.VOICE or not number):
            return False
        name = q.config.name
        self._command(Overflow(item.item_id, name, action, rule.target))
        self._event(EventKind.ITEM_OVERFLOWED, queue=name, item_id=item.item_id, detail=f"{rule.when}->{action}")
        if action is OverflowAction.CALLBACK:
            if exit_event is None:
                item.channel, item.callback_number = Channel.CALLBACK, number
                self._enter_queue(item, name, hops + 1)
            else:
                self._to_callback(item, q, number)
            return True
        if exit_event is not None:
            self._leave_waiting(item, q)
            wait = self._now - item.queued_at
            self._log(
                queue_log.left_queue(self._now, item.item_id, name, exit_event, item.position, item.orig_position, wait)
            )
        if action is OverflowAction.QUEUE:
            assert rule.target is not None
            self._enter_queue(item, rule.target, hops + 1)
        else:
            self._forget(item)
        return True

    def _queue_emptied(self, q: QueueState) -> None:
        """The last member logged out: waiting items follow the no-agents rule (Asterisk leavewhenempty)."""
        rules = [rule for rule in q.config.overflow if rule.when is OverflowWhen.NO_AGENTS]
        for item in list(q.waiting_items.values()):
            for rule in rules:
                if self._divert(item, q, rule, 0, exit_event="EXITEMPTY"):
                    break

    # ------------------------------------------------------------------ agent indexes

    def _refresh(self, agent: Agent, *, rekey: bool = False) -> None:
        """Re-file the agent in its queues' indexes after a change of load, state or strategy key."""
        new = agent.takeable()
        old = agent.available
        if new != old or rekey:
            agent.available = new
            agent_id = agent.agent_id
            for member in agent.members.values():
                tier = member.tier
                if tier is None:
                    continue
                q = self.queues[member.queue]
                for channel, tiers in q.agents.items():
                    if channel in new:
                        if rekey or channel not in old:
                            tiers[tier].put(agent_id, q.member_key(member, agent), member.position, member.weight)
                    elif channel in old:
                        tiers[tier].discard(agent_id)
        status = agent.derived_status()
        if status is not agent.status:
            agent.status = status
            self._event(EventKind.AGENT_STATUS, agent_id=agent.agent_id, detail=status)

    def _file_member(self, q: QueueState, member: Member, agent: Agent) -> None:
        # An index exists for every capacity channel some member has: it is built when the first such
        # member joins, never on the decision path.
        for channel, capacity in agent.capacity.items():
            if capacity > 0 and channel not in q.agents:
                q.agent_tiers(channel, self.agents)
        if member.tier is None:
            return
        for channel, tiers in q.agents.items():
            if channel in agent.available:
                tiers[member.tier].put(agent.agent_id, q.member_key(member, agent), member.position, member.weight)

    def _unfile_member(self, q: QueueState, member: Member) -> None:
        if member.tier is None:
            return
        for tiers in q.agents.values():
            tiers[member.tier].discard(member.agent_id)

    def _pause(self, agent: Agent, code: str) -> None:
        agent.pause_code = code
        for queue in agent.members:
            self._log(queue_log.pause(self._now, queue, agent.agent_id, paused=True, reason=code))
        self._event(EventKind.AGENT_PAUSED, agent_id=agent.agent_id, detail=code)
        self._refresh(agent)

    def _wrapup_over(self, agent: Agent) -> None:
        agent.wrapup_until = 0.0
        agent.wrapup_token += 1
        self._command(EndWrapup(agent.agent_id))
        self._refresh(agent)
        self._route_agent(agent)

    # ------------------------------------------------------------------ timers

    def _timer(self, due: float, kind: int, ref: str, token: int, extra: int = 0) -> None:
        self._timer_seq += 1
        heapq.heappush(self._timers, (due, self._timer_seq, kind, ref, token, extra))

    def _run_timers(self, now: float) -> None:
        timers = self._timers
        while timers and timers[0][0] <= now:
            due: list[Timer] = []
            while timers and timers[0][0] <= now:
                due.append(heapq.heappop(timers))
            # Stages first: a stage is a function of time, so every decision taken while the other timers
            # fire (an agent freed by a RONA picking an item…) must already see all stages due by now.
            relaxed: list[Item] = []
            for _, _, kind, ref, token, _ in due:
                item = self.items.get(ref) if kind == _RELAX else None
                if item is not None and item.wait_token == token:
                    q = self.queues[item.queue]
                    self._leave_waiting(item, q)
                    self._enter_waiting(item, q)
                    self._event(EventKind.ITEM_RELAXED, queue=item.queue, item_id=item.item_id, value=item.stage)
                    relaxed.append(item)
            for timer in due:
                if timer[2] != _RELAX:
                    self._fire(timer)
            for item in relaxed:
                if item.status is ItemStatus.WAITING:
                    self._route_item(item)

    def _fire(self, timer: Timer) -> None:
        _, _, kind, ref, token, extra = timer
        if kind == _WRAPUP_END:
            agent = self.agents.get(ref)
            if agent is not None and agent.wrapup_token == token and agent.wrapup_until:
                self._wrapup_over(agent)
            return
        item = self.items.get(ref)
        if item is None:
            return
        if kind == _OFFER_TIMEOUT:
            if item.offer_token == token and item.status is ItemStatus.OFFERED:
                for agent_id in list(item.offered_to):
                    if item.offer_token != token:
                        break  # the last RONA re-offered the item: a new ring with its own timer
                    self._rona(item, agent_id)
        elif kind == _CALLBACK_RETRY:
            if item.queue_token == token and item.status is ItemStatus.CALLBACK_PENDING:
                self._enter_waiting(item, self.queues[item.queue])
                self._route_item(item)
        elif item.queue_token == token:
            self._wait_timer(item, kind, token, extra)

    def _wait_timer(self, item: Item, kind: int, token: int, extra: int) -> None:
        if item.channel is Channel.CALLBACK:
            return  # the customer is not on the line: nothing to time out
        if item.status is ItemStatus.OFFERED:
            # Ringing now; look again when the ring ends (answered: the timer is then ignored).
            self._timer(item.offer_deadline, kind, item.item_id, token, extra)
            return
        if item.status is not ItemStatus.WAITING:
            return
        q = self.queues[item.queue]
        if kind == _OVERFLOW_WAIT:
            self._divert(item, q, q.config.overflow[extra], 0, exit_event="EXITWITHTIMEOUT")
        elif kind == _MAX_WAIT:
            self._leave_waiting(item, q)
            wait = self._now - item.queued_at
            name = q.config.name
            self._log(
                queue_log.left_queue(
                    self._now, item.item_id, name, "EXITWITHTIMEOUT", item.position, item.orig_position, wait
                )
            )
            self._event(EventKind.ITEM_TIMED_OUT, queue=name, item_id=item.item_id, value=wait)
            self._command(ExitQueue(item.item_id, name, "timeout"))
            self._forget(item)

    # ------------------------------------------------------------------ plumbing

    def _begin(self, now: float) -> Outputs:
        out = Outputs()
        self._out = out
        if now < self._now:
            raise RouterError(f"time went backwards: {now} < {self._now}")
        self._now = now
        if self._timers and self._timers[0][0] <= now:
            self._run_timers(now)
        return out

    def _command(self, command: Command) -> None:
        self._out.commands.append(command)

    def _log(self, line: str) -> None:
        self._out.queue_log.append(line)

    def _event(
        self,
        kind: EventKind,
        *,
        queue: str | None = None,
        item_id: str | None = None,
        agent_id: str | None = None,
        detail: str = "",
        value: float | None = None,
    ) -> None:
        self._out.events.append(Event(self._now, kind, queue, item_id, agent_id, detail, value))

    def _queue(self, name: str) -> QueueState:
        q = self.queues.get(name)
        if q is None:
            raise RouterError(f"unknown queue {name!r}")
        return q

    def _agent(self, agent_id: str) -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise RouterError(f"unknown agent {agent_id!r}")
        return agent

    def _item(self, item_id: str) -> Item:
        item = self.items.get(item_id)
        if item is None:
            raise RouterError(f"unknown item {item_id!r}")
        return item
