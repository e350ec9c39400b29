"""What the support service asks the ACD and does to tickets (tvoxcc.support.dispatch.plan), pure."""

from __future__ import annotations

from tvoxcc.queues.model import ItemStatus
from tvoxcc.support.dispatch import (
    Assignment,
    DeskPresence,
    ItemState,
    StaffState,
    TicketState,
    plan,
    ticket_item,
    ticket_number,
)

Q = "acme/mail"


def ticket(number: int, status: str = "new", assignee: str | None = None, queue: str | None = Q) -> TicketState:
    return TicketState(number, queue, 0, 1000.0 + number, status, assignee)


def item(number: int, status: ItemStatus, agent: str | None = None) -> ItemState:
    return ItemState(ticket_item(7, number), number, Q, status, agent)


def test_item_ids_carry_tenant_and_number() -> None:
    assert ticket_item(7, 1042) == "ticket-7-1042"
    assert ticket_number(7, "ticket-7-1042") == 1042
    assert ticket_number(71, "ticket-7-1042") is None and ticket_number(7, "chat-7-1") is None


def test_unassigned_waiting_tickets_of_a_queue_are_submitted_once() -> None:
    tickets = {n: ticket(n) for n in (1001, 1002, 1003)}
    tickets[1004] = ticket(1004, queue=None)  # no queue: assigned by hand only
    tickets[1005] = ticket(1005, status="pending-customer")
    got = plan(7, tickets, [item(1002, ItemStatus.WAITING)], asked={ticket_item(7, 1003)})
    assert [t.number for t in got.submit] == [1001]  # 1002 is in the ACD, 1003's submission is not taken yet
    assert got.assign == [] and got.complete == [] and got.abandon == []


def test_an_item_in_hand_assigns_its_ticket_while_unassigned() -> None:
    got = plan(7, {1001: ticket(1001)}, [item(1001, ItemStatus.CONNECTED, "acme-ann")])
    assert got.assign == [Assignment(1001, "acme-ann", Q)] and got.submit == []
    same = plan(7, {1001: ticket(1001, "open", "acme-ann")}, [item(1001, ItemStatus.CONNECTED, "acme-ann")])
    assert same.assign == [] and same.complete == []


def test_tickets_no_longer_held_free_their_item() -> None:
    items = [
        item(1001, ItemStatus.CONNECTED, "acme-ann"),  # solved
        item(1002, ItemStatus.CONNECTED, "acme-ann"),  # waits on the customer: not held
        item(1003, ItemStatus.CONNECTED, "acme-ann"),  # reassigned to bob by hand
        item(1004, ItemStatus.WAITING),  # assigned by hand while it waited
        item(1005, ItemStatus.WAITING),  # closed while it waited
        item(1006, ItemStatus.CONNECTED, "acme-ann"),  # freed already: its request is not taken yet
    ]
    tickets = {
        1001: ticket(1001, "solved", "acme-ann"),
        1002: ticket(1002, "pending-customer", "acme-ann"),
        1003: ticket(1003, "open", "acme-bob"),
        1004: ticket(1004, "open", "acme-bob"),
        1005: ticket(1005, "closed"),
        1006: ticket(1006, "new"),  # unassigned by hand: must not be given back to ann
    }
    got = plan(7, tickets, items, asked={ticket_item(7, 1006)})
    assert got.complete == [ticket_item(7, n) for n in (1001, 1002, 1003)]
    assert got.abandon == [ticket_item(7, n) for n in (1004, 1005)]
    assert got.assign == [] and got.submit == []


def test_mail_staff_the_desk_has_available_are_logged_in() -> None:
    staff = [
        StaffState("acme-bob", DeskPresence.AVAILABLE, False),
        StaffState("acme-cid", DeskPresence.AVAILABLE, None),  # the ACD has no row yet
        StaffState("acme-dan", DeskPresence.LOGGED_OUT, False),
        StaffState("acme-eve", DeskPresence.PAUSED, False),
        StaffState("acme-fay", DeskPresence.AVAILABLE, True),
        StaffState("acme-gus", DeskPresence.AVAILABLE, False),  # a login is on its way
    ]
    assert plan(7, {}, [], staff=staff, asked={"acme-gus"}).login == ["acme-bob", "acme-cid"]
