"""Tickets through the ACD service (tvoxcc.acd), pure: what the support service asks the ACD and does to tickets.

The ACD routes every channel with one router, so a ticket is a mail work item (``auto_accept``: the offer
is the assignment) under the same rules as a call: the queue's strategy and skills, relaxation, overflow,
wrap-up, and an agent ringing or talking on the phone gets none while voice blocks other channels. Per
tenant, the support service (tvoxcc.support.dispatch_store) compares its tickets with the ACD's rows and
the requests the ACD has not taken yet, and ``plan`` says what to do:
- submit each unassigned new/open ticket of a queue the ACD does not hold (item ``ticket-<tenant>-<number>``,
  contact priority = ticket priority, arrival = the ticket's creation, so a ticket taken back keeps its place);
- assign a ticket the ACD put in an agent's hands while it is still unassigned (what the Offer means; done
  from the rows, so offers made while the support service was down are applied all the same);
- complete an item in hand whose ticket left new/open (solved, closed, pending-customer: the agent holds
  new and open tickets only) or went to someone else by hand: the agent's capacity is free (wrap-up follows);
- abandon a waiting item whose ticket no longer waits (assigned by hand, solved);
- log in the mail staff the desk has available (no `support pause/logout`) when the support service first
  sees them (its start, a new agent): from then on the ACD's state is the one fact (a phone that goes away
  logs its agent out of every channel; `support login` brings them back), never fought over.
An item or agent with a request not taken yet gets no new one (never asked twice).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from tvoxcc.queues.model import ItemStatus
from tvoxcc.support.status import TicketStatus


class DeskPresence(StrEnum):
    """What `support login/pause/logout` last said about an agent (no row: available)."""

    AVAILABLE = "available"
    PAUSED = "paused"
    LOGGED_OUT = "logged-out"


PAUSE_CODE = "support"  # the ACD pause code `support pause` sets


def ticket_item(tenant_id: int, number: int) -> str:
    return f"ticket-{tenant_id}-{number}"


def item_prefix(tenant_id: int) -> str:
    return f"ticket-{tenant_id}-"


def ticket_number(tenant_id: int, item_id: str) -> int | None:
    rest = item_id.removeprefix(item_prefix(tenant_id))
    return int(rest) if rest != item_id and rest.isdigit() else None


@dataclass(frozen=True, slots=True)
class TicketState:
    number: int
    queue: str | None  # the router's queue ("tenant/queue"); None: no queue, assigned by hand only
    priority: int
    created_at: float  # Unix seconds, the router's clock
    status: str
    assignee: str | None  # the router's agent id


@dataclass(frozen=True, slots=True)
class ItemState:
    item_id: str
    number: int
    queue: str
    status: ItemStatus
    agent: str | None  # in whose hands (connected), or reserved for


@dataclass(frozen=True, slots=True)
class StaffState:
    agent: str  # the router's agent id
    desk: DeskPresence
    logged_in: bool | None  # in the ACD's rows; None: no row yet


@dataclass(frozen=True, slots=True)
class Assignment:
    number: int
    agent: str  # the router's agent id
    queue: str  # the router's queue


@dataclass
class Plan:
    submit: list[TicketState] = field(default_factory=list)
    assign: list[Assignment] = field(default_factory=list)
    complete: list[str] = field(default_factory=list)
    abandon: list[str] = field(default_factory=list)
    login: list[str] = field(default_factory=list)


def plan(
    tenant_id: int,
    tickets: Mapping[int, TicketState],
    items: Iterable[ItemState],
    *,
    asked: Iterable[str] = (),
    staff: Sequence[StaffState] = (),
) -> Plan:
    """``tickets`` by number: every unassigned new/open one and every one an item names; ``asked``: items
    and agents with a request the ACD has not taken yet; ``staff``: mail staff seen for the first time."""
    busy = set(asked)
    out = Plan()
    held: set[int] = set()
    for item in items:
        held.add(item.number)
        if item.item_id in busy:
            continue
        ticket = tickets.get(item.number)
        waits = ticket is not None and ticket.status in TicketStatus.AWAITING_US
        if item.status is ItemStatus.CONNECTED:
            if not waits or ticket is None or ticket.assignee not in (None, item.agent):
                out.complete.append(item.item_id)
            elif ticket.assignee is None and item.agent is not None:
                out.assign.append(Assignment(item.number, item.agent, item.queue))
        elif not waits or ticket is None or ticket.assignee is not None:
            out.abandon.append(item.item_id)
    for number in sorted(tickets):
        ticket = tickets[number]
        unrouted = number not in held and ticket_item(tenant_id, number) not in busy
        if (
            unrouted
            and ticket.assignee is None
            and ticket.status in TicketStatus.AWAITING_US
            and ticket.queue is not None
        ):
            out.submit.append(ticket)
    for member in staff:
        if member.agent not in busy and member.desk is DeskPresence.AVAILABLE and not member.logged_in:
            out.login.append(member.agent)
    return out
