"""The screen pop: what an agent sees of a contact's whole journey when a call or ticket is offered."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from tvoxcc.journey.entries import Call, CallbackEntry, Entry, TicketEntry, contact_json, entry_json
from tvoxcc.journey.rows import (
    ContactRow,
)
from tvoxcc.journey.timeline import Timeline


@dataclass(frozen=True, slots=True)
class ScreenPop:
    """What an agent sees when a call or ticket is offered: enough not to ask what is already known."""

    contact: ContactRow | None
    address: str | None
    merged: tuple[int, ...]
    contacts: int  # entries in the whole journey
    by_channel: dict[str, int]
    last: tuple[Entry, ...]  # the latest few
    open_tickets: tuple[TicketEntry, ...]
    last_agent: str | None
    nps_last: int | None
    nps_average: float | None
    pending_callbacks: int

    @property
    def vip(self) -> bool:
        return bool(self.contact and self.contact.vip)

    def to_json(self) -> dict[str, Any]:
        return {
            "contact": contact_json(self.contact),
            "address": self.address,
            "vip": self.vip,
            "merged": list(self.merged),
            "contacts": self.contacts,
            "by_channel": self.by_channel,
            "last": [entry_json(e) for e in self.last],
            "open_tickets": [entry_json(t) for t in self.open_tickets],
            "last_agent": self.last_agent,
            "nps_last": self.nps_last,
            "nps_average": self.nps_average,
            "pending_callbacks": self.pending_callbacks,
        }


def screen_pop(timeline: Timeline, *, last: int = 3) -> ScreenPop:
    """The summary of the whole journey (the timeline's filters do not narrow it)."""
    entries = timeline.all_entries or timeline.entries
    by_channel: dict[str, int] = defaultdict(int)
    for e in entries:
        by_channel[e.channel] += 1
    calls = [e for e in entries if isinstance(e, Call)]
    tickets = [e for e in entries if isinstance(e, TicketEntry)]
    agents = [(e.at, e.agent) for e in calls if e.agent] + [(e.at, e.assignee) for e in tickets if e.assignee]
    scores = [e.nps for e in calls if e.nps is not None]  # newest first
    return ScreenPop(
        timeline.contact,
        timeline.address,
        timeline.merged,
        len(entries),
        dict(sorted(by_channel.items())),
        tuple(entries[:last]),
        tuple(t for t in tickets if t.is_open),
        max(agents, key=lambda a: a[0])[1] if agents else None,
        scores[0] if scores else None,
        round(sum(scores) / len(scores), 1) if scores else None,
        sum(1 for e in entries if isinstance(e, CallbackEntry) and e.status in ("requested", "placed")),
    )
