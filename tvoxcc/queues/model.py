"""Plain values of the queue core: configuration in, commands and events out.

Everything here is immutable; the router keeps its mutable runtime state in tvoxcc.queues.state.
Names and defaults follow tvoxcc.admin.spec (strategy names, overflow rules, relax rules) so an
adapter can build these from the stored configuration without translation tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Channel(StrEnum):
    VOICE = "voice"
    MAIL = "mail"
    CHAT = "chat"
    SMS = "sms"
    CALLBACK = "callback"
    VIDEO = "video"


# A callback becomes a voice call once placed, so it uses the agent's voice capacity.
CAPACITY_CHANNEL: Mapping[Channel, Channel] = {ch: ch for ch in Channel} | {Channel.CALLBACK: Channel.VOICE}
# The item channels an agent can take on each capacity channel.
ITEM_CHANNELS: Mapping[Channel, tuple[Channel, ...]] = {
    cap: tuple(ch for ch in Channel if CAPACITY_CHANNEL[ch] is cap) for cap in Channel
}
# Real-time conversations: while one lasts, an agent with voice_blocks_others gets nothing else.
BLOCKING_CHANNELS: frozenset[Channel] = frozenset({Channel.VOICE, Channel.VIDEO})


class Strategy(StrEnum):
    LONGEST_IDLE = "longest-idle"
    FEWEST_HANDLED = "fewest-handled"
    ROUND_ROBIN = "round-robin"
    RING_ALL = "ring-all"
    LINEAR = "linear"
    WEIGHTED_RANDOM = "weighted-random"


class AgentStatus(StrEnum):
    LOGGED_OUT = "logged-out"
    AVAILABLE = "available"
    RESERVED = "reserved"  # ringing, or a callback is being placed for the agent
    BUSY = "busy"
    WRAPUP = "wrap-up"
    PAUSED = "paused"


class ItemStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"  # ringing one agent (or several, ring-all)
    DIALING = "dialing"  # a callback is being placed to the customer
    CALLBACK_PENDING = "callback-pending"  # the last callback attempt failed, the next one is scheduled
    CONNECTED = "connected"
    DONE = "done"


class OverflowWhen(StrEnum):
    WAIT = "wait"
    LENGTH = "length"
    NO_AGENTS = "no-agents"


class OverflowAction(StrEnum):
    QUEUE = "queue"
    IVR = "ivr"
    VOICEMAIL = "voicemail"  # voicemail-to-ticket, done by the voice adapter
    CALLBACK = "callback"


@dataclass(frozen=True, slots=True)
class RelaxRule:
    """After an item has waited ``after_s`` in the queue, agents with ``min_level`` in each skill qualify."""

    after_s: float
    min_level: int


@dataclass(frozen=True, slots=True)
class OverflowRule:
    when: OverflowWhen
    action: OverflowAction
    target: str | None = None  # queue name or IVR node
    after_s: float | None = None  # when=wait
    length: int | None = None  # when=length: waiting items of the same channel


@dataclass(frozen=True, slots=True)
class QueueConfig:
    name: str
    strategy: Strategy = Strategy.LONGEST_IDLE
    skills: Mapping[str, int] = field(default_factory=dict)  # skill -> minimum level
    relax: tuple[RelaxRule, ...] = ()  # increasing after_s, decreasing min_level
    overflow: tuple[OverflowRule, ...] = ()
    priority: int = 0
    service_priority: int = 0
    channel_priority: Mapping[Channel, int] = field(default_factory=dict)
    wrapup_s: float = 10.0
    ring_timeout_s: float = 15.0
    max_wait_s: float | None = None
    rona_pause: bool = True
    rona_pause_code: str = "RONA"


def _one_call() -> Mapping[Channel, int]:
    return {Channel.VOICE: 1}


@dataclass(frozen=True, slots=True)
class AgentConfig:
    agent_id: str
    capacity: Mapping[Channel, int] = field(default_factory=_one_call)
    voice_blocks_others: bool = True
    skills: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WorkItem:
    """Something a customer wants handled: a call, a mail, a chat… ``item_id`` doubles as queue_log callid.

    ``skills`` are the item's own required levels (an IVR's ``set`` node): they add to the queue's and raise
    its levels, never lower them, and relax over the wait by the queue's rules (tvoxcc.queues.skills).
    """

    item_id: str
    queue: str
    channel: Channel = Channel.VOICE
    contact_priority: int = 0  # e.g. VIP
    caller_id: str = ""
    callback_number: str = ""
    skills: Mapping[str, int] = field(default_factory=dict)  # skill -> minimum level
    # A call taken back after a restart keeps its place in line and its wait (router times; None: now):
    arrived_at: float | None = None  # when it first queued anywhere (the FIFO order)
    queued_at: float | None = None  # when it entered this queue (relaxation, overflow, max wait, hold time)


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    position: int  # 1-based, among waiting items of the same channel
    ewt_s: float | None  # None: nobody staffed
    staffed_servers: int
    handle_time_s: float


# ---------------------------------------------------------------- commands (adapters execute them)


@dataclass(frozen=True, slots=True)
class Offer:
    item_id: str
    agent_id: str
    queue: str
    channel: Channel
    ring_timeout_s: float


@dataclass(frozen=True, slots=True)
class CancelOffer:
    item_id: str
    agent_id: str
    reason: str  # answered-elsewhere | abandoned


@dataclass(frozen=True, slots=True)
class PlaceCallback:
    item_id: str
    agent_id: str  # reserved for the customer while the call is placed
    queue: str
    number: str


@dataclass(frozen=True, slots=True)
class Overflow:
    item_id: str
    from_queue: str
    action: OverflowAction
    target: str | None


@dataclass(frozen=True, slots=True)
class ExitQueue:
    item_id: str
    queue: str
    reason: str  # timeout | callback-failed


@dataclass(frozen=True, slots=True)
class StartWrapup:
    agent_id: str
    until: float
    at: float = field(default=0.0, compare=False)  # router time it began: until - at is its length


@dataclass(frozen=True, slots=True)
class EndWrapup:
    agent_id: str


@dataclass(frozen=True, slots=True)
class PauseAgent:
    agent_id: str
    reason: str


Command = Offer | CancelOffer | PlaceCallback | Overflow | ExitQueue | StartWrapup | EndWrapup | PauseAgent


# ---------------------------------------------------------------- events (facts for statistics)


class EventKind(StrEnum):
    ITEM_QUEUED = "item-queued"
    ITEM_RELAXED = "item-relaxed"
    ITEM_OFFERED = "item-offered"
    ITEM_CONNECTED = "item-connected"
    ITEM_COMPLETED = "item-completed"
    ITEM_ABANDONED = "item-abandoned"
    ITEM_REQUEUED = "item-requeued"
    ITEM_OVERFLOWED = "item-overflowed"
    ITEM_TIMED_OUT = "item-timed-out"
    OFFER_CANCELLED = "offer-cancelled"
    RING_NO_ANSWER = "ring-no-answer"
    CALLBACK_REQUESTED = "callback-requested"
    CALLBACK_PLACED = "callback-placed"
    CALLBACK_ANSWERED = "callback-answered"
    CALLBACK_FAILED = "callback-failed"
    AGENT_STATUS = "agent-status"
    AGENT_PAUSED = "agent-paused"
    AGENT_UNPAUSED = "agent-unpaused"
    AGENT_LOGGED_IN = "agent-logged-in"
    AGENT_LOGGED_OUT = "agent-logged-out"
    MEMBER_ADDED = "member-added"
    MEMBER_REMOVED = "member-removed"
    SKILL_CHANGED = "skill-changed"
    CAPACITY_CHANGED = "capacity-changed"


@dataclass(frozen=True, slots=True)
class Event:
    at: float
    kind: EventKind
    queue: str | None = None
    item_id: str | None = None
    agent_id: str | None = None
    detail: str = ""  # new agent status, pause code, overflow action, completed-by…
    value: float | None = None  # seconds waited/talked, position…


@dataclass(slots=True)
class Outputs:
    """What one call into the router produced, in order."""

    commands: list[Command] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    queue_log: list[str] = field(default_factory=list)


class RouterError(Exception):
    """A call that does not fit the current state (unknown id, item not ringing that agent…)."""
