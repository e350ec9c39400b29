"""Plain rows the journey is built from: what the store loader reads, what tests build by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tvoxcc.interactions import Direction


@dataclass(frozen=True, slots=True)
class ContactRow:
    id: int
    tenant_id: int
    display_name: str = ""
    company: str = ""
    vip: bool = False
    language: str | None = None
    merged_into_id: int | None = None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    created_at: datetime | None = None
    notes: str = ""  # read by the address book (load_contacts), not by the journey's card


@dataclass(frozen=True, slots=True)
class InteractionRow:
    id: int
    channel: str
    offered_at: datetime
    direction: str = Direction.INBOUND
    contact_id: int | None = None
    ticket_id: int | None = None
    from_address: str = ""
    to_address: str = ""
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: str | None = None
    recording: str | None = None
    service: str | None = None  # names, joined by the loader
    queue: str | None = None
    agent: str | None = None


@dataclass(frozen=True, slots=True)
class EventRow:
    interaction_id: int
    at: datetime
    kind: str
    queue: str | None = None
    agent: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TicketRow:
    id: int
    number: int
    subject: str
    status: str
    created_at: datetime
    updated_at: datetime
    contact_id: int | None = None
    assignee: str | None = None


@dataclass(frozen=True, slots=True)
class MessageRow:
    ticket_id: int
    kind: str  # inbound | outbound | note
    created_at: datetime
    interaction_id: int | None = None


@dataclass(frozen=True, slots=True)
class CallbackRow:
    id: int
    number: str
    requested_at: datetime
    status: str  # pending | dialing | done | failed | cancelled
    contact_id: int | None = None
    queue: str | None = None
    requested_by_id: int | None = None
    placed_as_id: int | None = None
    due_at: datetime | None = None
    attempts: int = 0
    completed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NpsRow:
    interaction_id: int
    score: int
    answered_at: datetime
    second_score: int | None = None


@dataclass(frozen=True, slots=True)
class JourneyRows:
    """Everything stored about one contact (and the duplicates merged into it), or one unknown address."""

    interactions: tuple[InteractionRow, ...] = ()
    events: tuple[EventRow, ...] = ()
    tickets: tuple[TicketRow, ...] = ()
    messages: tuple[MessageRow, ...] = ()
    callbacks: tuple[CallbackRow, ...] = ()
    nps: tuple[NpsRow, ...] = ()
