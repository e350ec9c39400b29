"""Plain facts the statistics are computed from, and the parameters of a report.

The core never sees the store: the adapter (tvoxcc.insight.store) turns rows into these values, with the
tenant's ids already replaced by names so a report reads the way an admin configured it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tvoxcc.interactions import Direction
from tvoxcc.queues.model import Channel


class Interval(StrEnum):
    QUARTER = "15m"
    HOUR = "1h"
    DAY = "1d"

    @property
    def delta(self) -> timedelta:
        return {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "1d": timedelta(days=1)}[self.value]


class Dimension(StrEnum):
    """What one row of a report is about; every row is also split by interval."""

    TENANT = "tenant"
    SERVICE = "service"
    QUEUE = "queue"
    CHANNEL = "channel"
    AGENT = "agent"
    INTERVAL = "interval"  # one row per interval for the whole tenant


@dataclass(frozen=True, slots=True)
class Contact:
    """One interaction (Interaction row). ``service``/``queue``/``agent`` are names, None when unknown."""

    id: int
    channel: str
    offered_at: datetime
    direction: str = Direction.INBOUND
    service: str | None = None
    queue: str | None = None
    agent: str | None = None  # the agent who answered
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One InteractionEvent row; ``detail``/``value`` come from its data (pause code, seconds…)."""

    at: datetime
    kind: str
    interaction_id: int | None = None
    agent: str | None = None
    queue: str | None = None
    detail: str = ""
    value: float | None = None


@dataclass(frozen=True, slots=True)
class NpsScore:
    score: int  # 0..10
    answered_at: datetime
    interaction_id: int | None = None
    agent: str | None = None


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """One Callback row: every path that takes a callback (IVR, AGI route, queue overflow) stores one."""

    requested_at: datetime
    requested_by: int | None = None  # the interaction that asked for it
    queue: str | None = None
    service: str | None = None
    completed_at: datetime | None = None  # set once the callback reached the customer (status done)
    agent: str | None = None  # the agent who completed it (the placed interaction's agent)


@dataclass(frozen=True, slots=True)
class TicketPost:
    """One message of a ticket's thread: ``inbound`` (customer), ``reply`` (agent), ``auto`` (ack…), ``note``."""

    at: datetime
    kind: str


@dataclass(frozen=True, slots=True)
class Ticket:
    """A ticket resolved (solved, else closed) at ``resolved_at``, with its thread, for first-contact resolution."""

    id: int
    resolved_at: datetime
    posts: tuple[TicketPost, ...] = ()
    channel: str = Channel.MAIL
    service: str | None = None
    queue: str | None = None
    agent: str | None = None  # the assignee


@dataclass(frozen=True, slots=True)
class SlaBreach:
    """A ticket's SLA target (``first-response`` or ``resolution``) missed at ``at``: the SLA clock's event."""

    at: datetime
    target: str
    channel: str = Channel.MAIL
    service: str | None = None
    queue: str | None = None
    agent: str | None = None  # the ticket's assignee


@dataclass(frozen=True, slots=True)
class Dataset:
    contacts: tuple[Contact, ...] = ()
    events: tuple[Event, ...] = ()
    nps: tuple[NpsScore, ...] = ()
    # queue name -> service name, so events that only name a queue can be attributed to a service
    queue_service: Mapping[str, str] = field(default_factory=dict)
    callbacks: tuple[CallbackRequest, ...] = ()
    tickets: tuple[Ticket, ...] = ()
    breaches: tuple[SlaBreach, ...] = ()


@dataclass(frozen=True, slots=True)
class Params:
    """What a report is asked for. ``start``/``end`` bound pause time still open at the edges."""

    start: datetime
    end: datetime
    interval: Interval = Interval.DAY
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    sl_threshold_s: float = 20.0
    short_abandon_s: float = 5.0
    # queue name -> configured wrap-up seconds, used when no wrap-up events were stored
    wrapup_s: Mapping[str, float] = field(default_factory=dict)
