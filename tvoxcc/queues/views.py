"""Frozen views of the router's state: what the world outside tvoxcc.queues may read, and what a restore takes.

The router's runtime state (tvoxcc.queues.state) is mutable and shaped for the decisions; nothing outside
this package reads it. ``Router.view()`` copies it into these plain values (one pass), and the per-entity
queries (``agent_view``, ``item_view``, ``queue_view``) copy one. The same values go the other way:
``Router.restore`` (tvoxcc.queues.engine.restore) rebuilds an equivalent router from them, so a view is
also the unit the ACD service stores (tvoxcc.acd) and rebuilds its cache from.

Fields marked *derived* are reported but ignored by a restore: the router recomputes them (an agent's
load and status from the items in its hands and its state, an item's stage from its wait).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tvoxcc.queues.model import AgentConfig, AgentStatus, Channel, ItemStatus, QueueConfig

OrderKey = tuple[int, float, int]  # (-effective priority, arrived_at, seq): the waiting order, best first


@dataclass(frozen=True, slots=True)
class MemberView:
    """An agent's membership of one queue. ``position`` (order of joining) breaks ties in several strategies."""

    queue: str
    penalty: int = 0
    weight: int = 1
    position: int = 0
    handled: int = 0  # items completed in this queue (fewest-handled orders by it)
    tier: int | None = None  # derived: first relax stage the agent qualifies at, None: never


@dataclass(frozen=True, slots=True)
class AgentView:
    agent_id: str
    capacity: Mapping[Channel, int] = field(default_factory=dict)
    voice_blocks_others: bool = True
    skills: Mapping[str, int] = field(default_factory=dict)
    members: tuple[MemberView, ...] = ()
    logged_in: bool = False
    pause_code: str | None = None
    wrapup_until: float = 0.0  # 0: not in wrap-up
    login_at: float = 0.0
    idle_since: float = 0.0
    interface: str = ""
    handled: int = 0
    status: AgentStatus = AgentStatus.LOGGED_OUT  # derived
    load: Mapping[Channel, int] = field(default_factory=dict)  # derived: capacity channel -> items in hand
    offered: tuple[str, ...] = ()  # derived: items ringing it or callbacks placed for it (reserved), sorted
    connected: tuple[str, ...] = ()  # derived: items it serves, sorted

    @property
    def config(self) -> AgentConfig:
        return AgentConfig(self.agent_id, dict(self.capacity), self.voice_blocks_others, dict(self.skills))

    def in_use(self, channel: Channel) -> int:
        return self.load.get(channel, 0)


@dataclass(frozen=True, slots=True)
class ItemView:
    item_id: str
    queue: str
    channel: Channel
    status: ItemStatus
    arrived_at: float  # first queued anywhere: the FIFO order survives overflows
    queued_at: float  # entered this queue: relaxation, overflow and max wait count from it
    seq: int  # arrival sequence: the tie-break of equal arrival times
    contact_priority: int = 0
    caller_id: str = ""
    callback_number: str = ""
    skills: Mapping[str, int] = field(default_factory=dict)
    offered_to: tuple[str, ...] = ()  # agents it rings, sorted
    agent_id: str | None = None  # connected to, or reserved for its callback
    connected_at: float = 0.0
    tried: tuple[str, ...] = ()  # agents that did not answer it in this queue, sorted
    callback_attempts: int = 0
    retry_at: float = 0.0  # callback-pending: when the next attempt is due
    orig_position: int = 0  # its position when it entered the queue (queue_log)
    # Effective priority it is ordered by (service + queue + channel + contact when it entered the queue, or
    # the last reconfiguration); a restore keeps it, so the waiting order survives.
    priority: int = 0
    stage: int = 0  # derived: relaxation stage reached

    @property
    def order_key(self) -> OrderKey:
        return (-self.priority, self.arrived_at, self.seq)


@dataclass(frozen=True, slots=True)
class QueueView:
    name: str
    config: QueueConfig
    rr_last: int = -1  # round-robin memory: position of the last member offered an item
    next_position: int = 0
    logged_in: int = 0  # derived: members logged in
    waiting: Mapping[Channel, int] = field(default_factory=dict)  # derived: item channel -> items waiting


@dataclass(frozen=True, slots=True)
class RouterView:
    now: float
    queues: Mapping[str, QueueView]
    agents: Mapping[str, AgentView]
    items: Mapping[str, ItemView]

    def waiting_order(self, queue: str) -> list[str]:
        """The items waiting in ``queue`` (any channel), best first: priority, then time entered."""
        waiting = [i for i in self.items.values() if i.queue == queue and i.status is ItemStatus.WAITING]
        return [i.item_id for i in sorted(waiting, key=lambda i: i.order_key)]
