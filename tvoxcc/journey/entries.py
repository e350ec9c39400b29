"""The entries of a contact's timeline (a call, a ticket, a callback, a message) and their JSON.

``tvoxcc.journey.timeline`` shapes them from the stored rows; ``tvoxcc.journey.screen_pop`` sums them up.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from tvoxcc.journey.rows import (
    ContactRow,
)
from tvoxcc.queues.model import Channel
from tvoxcc.support.status import TicketStatus


@dataclass(frozen=True, slots=True)
class Call:
    interaction_id: int
    channel: str
    direction: str
    started: datetime
    at: datetime
    caller: str
    service: str | None
    ivr_path: tuple[str, ...]
    digits: str
    queue: str | None
    wait_s: float | None
    agent: str | None
    outcome: str  # answered | abandoned | voicemail | callback | transferred | waiting | in-progress | ended
    outcome_detail: str  # the stored outcome when it says more (abandoned-in-ivr, hangup…)
    talk_s: float | None
    recording: str | None
    nps: int | None
    ticket: int | None  # the voicemail's ticket number
    kind: str = "call"


@dataclass(frozen=True, slots=True)
class TicketEntry:
    ticket_id: int
    number: int
    channel: str
    subject: str
    status: str
    started: datetime
    at: datetime
    messages_in: int
    messages_out: int
    notes: int
    assignee: str | None
    kind: str = "ticket"

    @property
    def is_open(self) -> bool:
        return self.status in TicketStatus.WORKING


@dataclass(frozen=True, slots=True)
class CallbackEntry:
    callback_id: int
    number: str
    queue: str | None
    status: str  # requested | placed | completed | failed | cancelled
    started: datetime
    at: datetime
    due_at: datetime | None
    attempts: int
    requested_by: int | None
    placed_as: int | None
    channel: str = Channel.CALLBACK
    kind: str = "callback"


@dataclass(frozen=True, slots=True)
class MessageEntry:
    interaction_id: int
    channel: str
    direction: str
    started: datetime
    at: datetime
    from_address: str
    to_address: str
    outcome: str | None
    kind: str = "message"


Entry = Call | TicketEntry | CallbackEntry | MessageEntry


def isoformat_or_none(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def contact_json(contact: ContactRow | None) -> dict[str, Any] | None:
    if contact is None:
        return None
    return {
        "id": contact.id,
        "display_name": contact.display_name,
        "company": contact.company,
        "vip": contact.vip,
        "language": contact.language,
        "phones": list(contact.phones),
        "emails": list(contact.emails),
    }


def entry_json(entry: Entry) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(entry):
        value = getattr(entry, f.name)
        out[f.name] = (
            list(value)
            if isinstance(value, tuple)
            else isoformat_or_none(value)
            if isinstance(value, datetime)
            else value
        )
    return out
