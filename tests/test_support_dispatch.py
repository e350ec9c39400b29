"""The ticket dispatcher core: tickets as mail items through the universal ACD router."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from tvoxcc.queues.model import QueueConfig, Strategy
from tvoxcc.support.dispatch import Assignment, PendingTicket, StaffMember, dispatch, dispatch_order

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MAIL = QueueConfig("mail")


def ticket(number: int, minute: int = 0, priority: int = 0, queue: str = "mail") -> PendingTicket:
    return PendingTicket(number, queue, priority, T0 + timedelta(minutes=minute))


def staff(name: str, capacity: int = 5, held: int = 0, **kwargs: object) -> StaffMember:
    queues = kwargs.pop("queues", {"mail": (0, 1)})
    return StaffMember(name, capacity, held, queues=queues, **kwargs)  # type: ignore[arg-type]


def run(
    queues: list[QueueConfig], team: list[StaffMember], tickets: list[PendingTicket], **kw: object
) -> list[Assignment]:
    return dispatch(queues, team, tickets, rng=random.Random(7), **kw)  # type: ignore[arg-type]


def test_order_by_priority_then_age() -> None:
    tickets = [ticket(1001, 5), ticket(1002, 1), ticket(1003, 9, priority=2), ticket(1004, 1)]
    assert [t.number for t in dispatch_order(tickets)] == [1003, 1002, 1004, 1001]
    # One free slot: the most important ticket gets it, the others wait.
    assert run([MAIL], [staff("ann", capacity=1)], tickets) == [Assignment(1003, "ann", "mail")]


def test_capacity_counts_tickets_already_held() -> None:
    tickets = [ticket(n, n) for n in range(1001, 1008)]
    got = run([MAIL], [staff("ann", capacity=3, held=1), staff("bob", capacity=2)], tickets)
    per_agent = {name: [a.number for a in got if a.agent == name] for name in ("ann", "bob")}
    assert len(per_agent["ann"]) == 2 and len(per_agent["bob"]) == 2
    assert sorted(a.number for a in got) == [1001, 1002, 1003, 1004]  # the oldest four
    assert run([MAIL], [staff("full", capacity=2, held=2)], tickets) == []


def test_no_double_assignment_with_ring_all() -> None:
    team = [staff("ann"), staff("bob"), staff("cid")]
    got = run([QueueConfig("mail", strategy=Strategy.RING_ALL)], team, [ticket(n, n) for n in range(1001, 1011)])
    numbers = [a.number for a in got]
    assert sorted(numbers) == list(range(1001, 1011)) and len(set(numbers)) == len(numbers)


def test_skills_and_memberships_decide_who_qualifies() -> None:
    queues = [QueueConfig("mail", skills={"german": 3}), QueueConfig("billing")]
    team = [
        staff("novice", skills={"german": 1}),
        staff("expert", capacity=1, skills={"german": 5}),
        staff("biller", queues={"billing": (0, 1)}),
    ]
    got = run(queues, team, [ticket(1001), ticket(1002), ticket(1003, queue="billing"), ticket(1004, queue="nowhere")])
    assert sorted((a.number, a.agent) for a in got) == [(1001, "expert"), (1003, "biller")]


def test_unavailable_staff_get_nothing_but_may_ask_for_next() -> None:
    team = [staff("ann", available=False)]
    assert run([MAIL], team, [ticket(1001)]) == []
    assert run([MAIL], team, [ticket(1001), ticket(1002, priority=1)], only_agent="ann") == [
        Assignment(1002, "ann", "mail")
    ]


def test_next_gives_one_ticket_within_capacity() -> None:
    team = [staff("ann", capacity=3), staff("bob", capacity=3, held=3)]
    tickets = [ticket(1001), ticket(1002)]
    assert run([MAIL], team, tickets, only_agent="ann") == [Assignment(1001, "ann", "mail")]
    assert run([MAIL], team, tickets, only_agent="bob") == []


def test_longest_idle_prefers_who_was_assigned_longest_ago() -> None:
    team = [staff("ann", last_assigned=T0), staff("bob", last_assigned=T0 - timedelta(hours=1)), staff("cid")]
    got = run([MAIL], team, [ticket(1001), ticket(1002), ticket(1003)])
    assert [a.agent for a in got] == ["cid", "bob", "ann"]  # never assigned, then the longest ago
