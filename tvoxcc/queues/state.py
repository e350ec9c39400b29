"""Mutable runtime state the router keeps per agent, membership, item and queue.

Plain ``__slots__`` classes rather than dataclasses: they sit on the decision path, are created and
touched for every event, and never leave the router (the outside world sees commands and events).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping

from tvoxcc.queues.ewt import HandleTimeAverage
from tvoxcc.queues.lines import StagedLines, WaitEntry
from tvoxcc.queues.model import (
    BLOCKING_CHANNELS,
    AgentConfig,
    AgentStatus,
    Channel,
    ItemStatus,
    QueueConfig,
    Strategy,
)
from tvoxcc.queues.skills import qualifying_tier
from tvoxcc.queues.strategies import AgentIndex, Key, new_index


class Member:
    """An agent's membership of one queue."""

    __slots__ = ("agent_id", "handled", "penalty", "position", "queue", "tier", "weight")

    def __init__(self, queue: str, agent_id: str, penalty: int, weight: int, position: int) -> None:
        self.queue = queue
        self.agent_id = agent_id
        self.penalty = penalty
        self.weight = weight
        self.position = position  # order of joining; round-robin and linear tie-break on it
        self.tier: int | None = None  # first relaxation stage the agent qualifies at, None: never
        self.handled = 0


class Agent:
    __slots__ = (
        "agent_id",
        "available",
        "blocking",
        "capacity",
        "connected",
        "handled",
        "idle_since",
        "in_hand",
        "interface",
        "load",
        "logged_in",
        "login_at",
        "members",
        "pause_code",
        "reserved",
        "skills",
        "status",
        "voice_blocks_others",
        "wrapup_token",
        "wrapup_until",
    )

    def __init__(self, config: AgentConfig) -> None:
        self.agent_id = config.agent_id
        self.capacity: dict[Channel, int] = dict(config.capacity)
        self.voice_blocks_others = config.voice_blocks_others
        self.skills: dict[str, int] = dict(config.skills)
        self.members: dict[str, Member] = {}
        self.logged_in = False
        self.login_at = 0.0
        self.interface = ""
        self.pause_code: str | None = None
        self.wrapup_until = 0.0  # 0: not in wrap-up
        self.wrapup_token = 0
        self.load: dict[Channel, int] = {}  # capacity channel -> items offered or connected
        self.in_hand: set[str] = set()  # the items that load counts: offered, connected, or being called back
        self.blocking = 0  # offered or connected items on a blocking channel
        self.reserved = 0  # items ringing or callbacks being placed
        self.connected = 0
        self.idle_since = 0.0
        self.handled = 0
        self.available: frozenset[Channel] = frozenset()  # capacity channels the indexes list it under
        self.status = AgentStatus.LOGGED_OUT

    def can_take(self, channel: Channel) -> bool:
        if not self.logged_in or self.pause_code is not None or self.wrapup_until:
            return False
        if self.blocking and self.voice_blocks_others:
            return False
        return self.load.get(channel, 0) < self.capacity.get(channel, 0)

    def takeable(self) -> frozenset[Channel]:
        if not self.logged_in or self.pause_code is not None or self.wrapup_until:
            return frozenset()
        if self.blocking and self.voice_blocks_others:
            return frozenset()
        load = self.load
        return frozenset(ch for ch, cap in self.capacity.items() if load.get(ch, 0) < cap)

    def derived_status(self) -> AgentStatus:
        if not self.logged_in:
            return AgentStatus.LOGGED_OUT
        if self.connected:
            return AgentStatus.BUSY
        if self.reserved:
            return AgentStatus.RESERVED
        if self.pause_code is not None:
            return AgentStatus.PAUSED
        if self.wrapup_until:
            return AgentStatus.WRAPUP
        return AgentStatus.AVAILABLE

    def take(self, channel: Channel, item_id: str) -> None:
        self.load[channel] = self.load.get(channel, 0) + 1
        self.in_hand.add(item_id)
        if channel in BLOCKING_CHANNELS:
            self.blocking += 1

    def release(self, channel: Channel, item_id: str) -> None:
        self.load[channel] -= 1
        self.in_hand.discard(item_id)
        if channel in BLOCKING_CHANNELS:
            self.blocking -= 1


class Item:
    __slots__ = (
        "agent_id",
        "arrived_at",
        "callback_attempts",
        "callback_number",
        "caller_id",
        "channel",
        "connected_at",
        "contact_priority",
        "item_id",
        "key",
        "needs",
        "offer_deadline",
        "offer_token",
        "offered_at",
        "offered_to",
        "orig_position",
        "position",
        "queue",
        "queue_token",
        "queued_at",
        "retry_at",
        "skills",
        "stage",
        "status",
        "tried",
        "wait_token",
    )

    def __init__(self, item_id: str, channel: Channel, contact_priority: int, caller_id: str, now: float) -> None:
        self.item_id = item_id
        self.channel = channel
        self.contact_priority = contact_priority
        self.caller_id = caller_id
        self.callback_number = ""
        self.callback_attempts = 0
        self.retry_at = 0.0  # callback-pending: when the next attempt is due
        self.skills: dict[str, int] = {}  # its own required levels, on top of its queue's
        # The levels it needs at its current stage when its own skills ask more than its queue, else None
        # (then its stage and the agents' tiers decide alone). Set each time it enters a waiting line.
        self.needs: dict[str, int] | None = None
        self.queue = ""
        self.arrived_at = now  # first arrival anywhere: the FIFO order survives overflows
        self.queued_at = now  # arrival in the current queue: relaxation, overflow and max wait count from it
        self.key: Key = ()
        self.status = ItemStatus.WAITING
        self.stage = 0
        self.position = 0  # last known position, for the log when it leaves while ringing
        self.orig_position = 0
        self.queue_token = 0  # bumped when the item changes queue or leaves: stale timers see it
        self.wait_token = 0  # bumped when the item leaves a waiting line: its stale relax timer sees it
        self.offer_token = 0
        self.offered_to: dict[str, float] = {}  # agent -> when the offer started
        self.offered_at = 0.0
        self.offer_deadline = 0.0
        self.tried: set[str] = set()  # agents that did not answer it: tried last
        self.agent_id: str | None = None
        self.connected_at = 0.0


class QueueState:
    __slots__ = (
        "agents",
        "config",
        "handle_time",
        "logged_in",
        "members",
        "narrowed",
        "next_position",
        "order",
        "rr_last",
        "waiting",
        "waiting_items",
    )

    def __init__(self, config: QueueConfig, handle_time_s: float) -> None:
        self.config = config
        self.members: dict[str, Member] = {}
        self.next_position = 0
        self.logged_in = 0  # members logged in, for the no-agents overflow
        self.rr_last = -1  # round-robin memory: position of the last member offered an item
        # capacity channel -> one index per tier of available, qualifying members (created on first use)
        self.agents: dict[Channel, list[AgentIndex]] = {}
        # capacity channel -> waiting items in one sorted line per stage, ordered by (priority, arrival); a
        # callback waits with the calls (it takes voice capacity), so a voice agent reads one set of lines
        self.waiting: dict[Channel, StagedLines] = {}
        # capacity channel -> waiting items whose own skills ask more than the queue (item.needs), in order;
        # not in the staged lines, whose heads any agent of a tier may take. Only non-empty lists are kept,
        # so a freed agent pays one truth test per queue when no such item waits.
        self.narrowed: dict[Channel, list[WaitEntry]] = {}
        # item channel -> sorted order keys of waiting items, for positions and lengths
        self.order: dict[Channel, list[Key]] = {}
        self.waiting_items: dict[str, Item] = {}  # for the rare whole-queue walks (queue emptied, reconfigured)
        self.handle_time = HandleTimeAverage(handle_time_s)

    @property
    def stages(self) -> int:
        return len(self.config.relax) + 1

    def effective_priority(self, channel: Channel, contact_priority: int) -> int:
        config = self.config
        return config.service_priority + config.priority + config.channel_priority.get(channel, 0) + contact_priority

    def member_key(self, member: Member, agent: Agent) -> Key:
        strategy = self.config.strategy
        if strategy is Strategy.LONGEST_IDLE:
            return (agent.idle_since, member.position)
        if strategy is Strategy.FEWEST_HANDLED:
            return (member.handled, agent.idle_since, member.position)
        return (member.penalty, member.position)

    def compute_tier(self, agent_skills: Mapping[str, int]) -> int | None:
        return qualifying_tier(agent_skills, self.config.skills, self.config.relax)

    def position_of(self, channel: Channel, key: Key) -> int:
        return bisect.bisect_left(self.order.get(channel, ()), key) + 1

    def length(self, channel: Channel) -> int:
        return len(self.order.get(channel, ()))

    def agent_tiers(self, channel: Channel, agents: Mapping[str, Agent]) -> list[AgentIndex]:
        """The tier indexes for a capacity channel, built from the current members the first time."""
        tiers = self.agents.get(channel)
        if tiers is None:
            tiers = [new_index(self.config.strategy) for _ in range(self.stages)]
            self.agents[channel] = tiers
            for member in self.members.values():
                agent = agents[member.agent_id]
                if member.tier is not None and channel in agent.available:
                    tiers[member.tier].put(
                        agent.agent_id, self.member_key(member, agent), member.position, member.weight
                    )
        return tiers
