"""A ticket's vocabulary: its statuses with the groups every reader uses, the moves allowed between them, and
the kinds of its events and messages. Pure: no I/O. The values are what the store holds: never rename one.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING_CUSTOMER = "pending-customer"  # we answered: the ball is with the customer
    SOLVED = "solved"  # the customer may still write back (it opens again)
    CLOSED = "closed"  # for good: a new mail opens a new ticket

    # Named groups (set below the class: enum members cannot be built inside their own class body).
    WORKING: ClassVar[frozenset[TicketStatus]]  # not resolved yet: the desk's list, a caller's open tickets
    AWAITING_US: ClassVar[frozenset[TicketStatus]]  # SLA clocks run; an assigned one holds its agent's capacity
    DONE: ClassVar[frozenset[TicketStatus]]  # resolved: the resolution clock stopped


TicketStatus.WORKING = frozenset({TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING_CUSTOMER})
TicketStatus.AWAITING_US = frozenset({TicketStatus.NEW, TicketStatus.OPEN})
TicketStatus.DONE = frozenset({TicketStatus.SOLVED, TicketStatus.CLOSED})


class TicketEventKind(StrEnum):
    """``TicketEvent.kind``: the ticket's append-only history."""

    STATUS = "status"  # data: {"to": status}; the SLA clocks are computed from these
    ASSIGNED = "assigned"
    FIRST_RESPONSE = "first-response"
    SLA_BREACHED = "sla-breached"
    PRIORITY = "priority"


class MessageKind(StrEnum):
    """``TicketMessage.kind``: what a message of the thread is."""

    INBOUND = "inbound"  # from the customer (a mail, a voicemail)
    OUTBOUND = "outbound"  # to the customer
    NOTE = "note"  # internal, never sent


def after_customer_message(status: str) -> TicketStatus:
    """A customer writing again means the ball is back with us."""
    current = TicketStatus(status)
    return TicketStatus.OPEN if current in (TicketStatus.PENDING_CUSTOMER, TicketStatus.SOLVED) else current


def after_agent_reply(status: str) -> TicketStatus:
    current = TicketStatus(status)
    return TicketStatus.PENDING_CUSTOMER if current is not TicketStatus.CLOSED else current


def check_status_change(current: str, wanted: str) -> str | None:
    """Why an agent may not move a ticket from ``current`` to ``wanted``, or None when allowed."""
    if wanted not in set(TicketStatus):
        return f"unknown status {wanted!r}: use one of {', '.join(TicketStatus)}"
    if current == TicketStatus.CLOSED and wanted != TicketStatus.CLOSED:
        return "a closed ticket stays closed: a new mail from the customer opens a new ticket"
    if wanted == TicketStatus.NEW and current != TicketStatus.NEW:
        return "a ticket cannot go back to 'new'"
    return None
