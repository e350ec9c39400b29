"""A contact's timeline across every channel, newest first: a pure function of rows (the entry types:
``tvoxcc.journey.entries``; the screen pop that sums it up: ``tvoxcc.journey.screen_pop``).

Entries:
- **call** (a voice or callback interaction): IVR path and digits, queue, wait (queued → answered, or →
  ended when nobody answered), agent, outcome, talk time (answered → ended), recording, NPS, the
  voicemail ticket.
- **ticket**: number, subject, status, messages in/out and notes; its mail interactions are folded into it.
  A ticket's channel is the one of its first message (``voice`` for a voicemail ticket, else ``mail``).
- **callback**: requested → placed → completed (or failed/cancelled).
- **message**: any other interaction (a mail without a ticket, a chat, an SMS).

Each entry spans ``started`` … ``at`` (its latest activity); the timeline is sorted by ``at`` newest
first, and a date range keeps the entries that overlap it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tvoxcc.interactions import CALL_CHANNELS, Outcome
from tvoxcc.interactions import InteractionEventKind as Kind
from tvoxcc.ivr.commands import IvrExit, IvrNote
from tvoxcc.journey.entries import (
    Call,
    CallbackEntry,
    Entry,
    MessageEntry,
    TicketEntry,
    contact_json,
    entry_json,
    isoformat_or_none,
)
from tvoxcc.journey.rows import (
    CallbackRow,
    ContactRow,
    EventRow,
    InteractionRow,
    JourneyRows,
    MessageRow,
    NpsRow,
    TicketRow,
)
from tvoxcc.queues.model import Channel, EventKind
from tvoxcc.support.status import MessageKind
from tvoxcc.voice.callback_status import CallbackStatus

CHANNELS = tuple(channel.value for channel in Channel)  # what ``channels`` may name
# The stored outcome (IVR exit or ACD end) -> what the journey shows.
OUTCOMES: dict[str, str] = {
    Outcome.ANSWERED: "answered",
    **dict.fromkeys(Outcome.ABANDONS, "abandoned"),
    IvrExit.CALLER_HANGUP: "abandoned",  # never stored (it ends as abandoned-in-ivr); older rows may hold it
    Outcome.VOICEMAIL: "voicemail",
    Outcome.CALLBACK: "callback",
    Outcome.TRANSFER: "transferred",
    Outcome.TRANSFERRED: "transferred",
}
# A stored callback status -> what the journey shows (the others as they are).
CALLBACK_STATES: dict[str, str] = {
    CallbackStatus.PENDING: "requested",
    CallbackStatus.DIALING: "placed",
    CallbackStatus.DONE: "completed",
}


@dataclass(frozen=True, slots=True)
class Timeline:
    """One contact's journey (``contact`` None: an address no contact has, e.g. an unknown caller)."""

    contact: ContactRow | None
    address: str | None  # the phone/e-mail asked for when no contact has it
    asked_id: int | None  # the contact id asked for: a merged duplicate resolves to its survivor
    merged: tuple[int, ...]  # ids of the duplicates merged into this contact
    entries: tuple[Entry, ...]
    channels: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    all_entries: tuple[Entry, ...] = field(default=(), repr=False)  # unfiltered, for the screen pop

    def to_json(self) -> dict[str, Any]:
        return {
            "contact": contact_json(self.contact),
            "address": self.address,
            "asked_id": self.asked_id,
            "merged": list(self.merged),
            "filters": {
                "channels": list(self.channels),
                "since": isoformat_or_none(self.since),
                "until": isoformat_or_none(self.until),
            },
            "entries": [entry_json(e) for e in self.entries],
        }


def build_timeline(
    rows: JourneyRows,
    *,
    contact: ContactRow | None = None,
    address: str | None = None,
    asked_id: int | None = None,
    merged: Iterable[int] = (),
    channels: Collection[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
) -> Timeline:
    """Every entry of the rows, newest first; ``channels`` (empty: all) and [since, until) filter them."""
    unknown = sorted(set(channels) - set(CHANNELS))
    if unknown:
        raise ValueError(f"unknown channel {unknown[0]!r}: use one of {', '.join(CHANNELS)}")
    entries = _entries(rows)
    entries.sort(key=lambda e: (e.at, e.started, _id(e)), reverse=True)
    kept = [e for e in entries if _keep(e, channels, since, until)]
    return Timeline(
        contact,
        address,
        asked_id,
        tuple(sorted(set(merged))),
        tuple(kept),
        tuple(sorted(set(channels))),
        since,
        until,
        tuple(entries),
    )


def _keep(entry: Entry, channels: Collection[str], since: datetime | None, until: datetime | None) -> bool:
    if channels and entry.channel not in channels:
        return False
    if since is not None and entry.at < since:
        return False
    return until is None or entry.started < until


def _id(entry: Entry) -> int:
    if isinstance(entry, TicketEntry):
        return entry.ticket_id
    if isinstance(entry, CallbackEntry):
        return entry.callback_id
    return entry.interaction_id


def _entries(rows: JourneyRows) -> list[Entry]:
    events: dict[int, list[EventRow]] = defaultdict(list)
    for e in sorted(rows.events, key=lambda e: e.at):
        events[e.interaction_id].append(e)
    nps = _last_nps(rows.nps)
    tickets = {t.id: t for t in rows.tickets}
    by_id = {i.id: i for i in rows.interactions}
    entries: list[Entry] = []
    for i in rows.interactions:
        if i.channel in CALL_CHANNELS:
            entries.append(_call(i, events.get(i.id, []), nps.get(i.id), tickets))
        elif i.ticket_id is None or i.ticket_id not in tickets:
            entries.append(_message(i))
    messages: dict[int, list[MessageRow]] = defaultdict(list)
    for msg in rows.messages:
        messages[msg.ticket_id].append(msg)
    for t in rows.tickets:
        entries.append(_ticket(t, messages.get(t.id, []), by_id))
    entries.extend(_callback(c) for c in rows.callbacks)
    return entries


def _last_nps(rows: Iterable[NpsRow]) -> dict[int, int]:
    latest: dict[int, NpsRow] = {}
    for r in rows:
        if r.interaction_id not in latest or r.answered_at >= latest[r.interaction_id].answered_at:
            latest[r.interaction_id] = r
    return {k: v.score for k, v in latest.items()}


def _call(i: InteractionRow, events: list[EventRow], nps: int | None, tickets: Mapping[int, TicketRow]) -> Call:
    path: list[str] = []
    digits = ""
    queued_at: datetime | None = None
    queue, agent, ticket = i.queue, i.agent, None
    callback = False
    for e in events:
        if e.kind == IvrNote.NODE and e.data.get("node"):
            path.append(str(e.data["node"]))
        elif e.kind == IvrNote.INPUT and e.data.get("digit") is not None:
            digits += str(e.data["digit"])
        elif e.kind in (Kind.QUEUED, EventKind.ITEM_QUEUED):
            queued_at = queued_at or e.at
            queue = queue or e.queue or (str(e.data["queue"]) if e.data.get("queue") else None)
        elif e.kind == EventKind.ITEM_CONNECTED:
            agent = agent or e.agent
        elif e.kind == Kind.VOICEMAIL_TICKET and isinstance(e.data.get("ticket"), int):
            ticket = int(e.data["ticket"])
        elif e.kind == EventKind.CALLBACK_REQUESTED:
            callback = True
    if ticket is None and i.ticket_id is not None and i.ticket_id in tickets:
        ticket = tickets[i.ticket_id].number
    end = i.answered_at or i.ended_at
    wait = (end - queued_at).total_seconds() if queued_at and end else None
    talk = (i.ended_at - i.answered_at).total_seconds() if i.answered_at and i.ended_at else None
    outcome = _outcome(i, callback)
    detail = i.outcome if i.outcome and i.outcome != outcome else ""
    return Call(
        i.id,
        i.channel,
        i.direction,
        i.offered_at,
        i.offered_at,
        i.from_address,
        i.service,
        tuple(path),
        digits,
        queue,
        wait,
        agent,
        outcome,
        detail,
        talk,
        i.recording,
        nps,
        ticket,
    )


def _outcome(i: InteractionRow, callback: bool) -> str:
    if callback and i.answered_at is None:
        return "callback"
    if i.outcome in OUTCOMES:
        return OUTCOMES[i.outcome]
    if i.ended_at is None:
        return "waiting" if i.outcome == Outcome.QUEUED else "in-progress"
    return "answered" if i.answered_at else "ended"


def _message(i: InteractionRow) -> MessageEntry:
    return MessageEntry(
        i.id, i.channel, i.direction, i.offered_at, i.ended_at or i.offered_at, i.from_address, i.to_address, i.outcome
    )


def _ticket(t: TicketRow, messages: list[MessageRow], interactions: Mapping[int, InteractionRow]) -> TicketEntry:
    counts: dict[str, int] = dict.fromkeys(MessageKind, 0)
    for msg in messages:
        counts[msg.kind] = counts.get(msg.kind, 0) + 1
    first = min(messages, key=lambda msg: msg.created_at, default=None)
    channel: str = Channel.MAIL
    if first is not None and first.interaction_id is not None and first.interaction_id in interactions:
        channel = interactions[first.interaction_id].channel
    last = max([t.updated_at, t.created_at, *(msg.created_at for msg in messages)])
    return TicketEntry(
        t.id,
        t.number,
        channel,
        t.subject,
        t.status,
        t.created_at,
        last,
        counts[MessageKind.INBOUND],
        counts[MessageKind.OUTBOUND],
        counts[MessageKind.NOTE],
        t.assignee,
    )


def _callback(c: CallbackRow) -> CallbackEntry:
    status = CALLBACK_STATES.get(c.status, c.status)
    if status == "requested" and c.placed_as_id is not None:
        status = "placed"
    return CallbackEntry(
        c.id,
        c.number,
        c.queue,
        status,
        c.requested_at,
        c.completed_at or c.requested_at,
        c.due_at,
        c.attempts,
        c.requested_by_id,
        c.placed_as_id,
    )
