"""Which support agent gets which ticket: the universal ACD router (tvoxcc.queues) fed with tickets as mail items.

Pure: the adapter (tvoxcc.support.dispatch_store) passes a snapshot of queues, staff and unassigned
tickets and applies the assignments. Each pass builds a fresh router:
- every available agent logs in with the mail capacity left (mail capacity minus tickets held), in the
  order of their last assignment, so longest-idle and fewest-handled favour whoever waited longest;
- tickets are enqueued by priority (highest first), then age (oldest first), so each one is offered,
  in that order, to the agent the queue's strategy and skills choose;
- a mail offer is taken at once (no ringing): the ticket is assigned and, for the router, handled right
  away with the agent's capacity lowered by one, so the strategy (longest idle, fewest handled, round
  robin) spreads the tickets of one pass over the team instead of filling one agent first.
Skill relaxation by waiting time is not applied (tickets enter a fresh router); overflow rules are for
calls and are left out here.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from tvoxcc.queues.model import AgentConfig, Channel, Offer, Outputs, QueueConfig, WorkItem
from tvoxcc.queues.router import Router


@dataclass(frozen=True, slots=True)
class StaffMember:
    name: str
    mail_capacity: int  # most tickets held at once (new or open, assigned to them)
    held: int = 0  # tickets held now
    skills: Mapping[str, int] = field(default_factory=dict)
    queues: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # queue -> (penalty, weight)
    available: bool = True  # logged in for mail and not paused
    last_assigned: datetime | None = None

    @property
    def free(self) -> int:
        return max(0, self.mail_capacity - self.held)


@dataclass(frozen=True, slots=True)
class PendingTicket:
    number: int
    queue: str
    priority: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Assignment:
    number: int
    agent: str
    queue: str


def dispatch_order(tickets: Iterable[PendingTicket]) -> list[PendingTicket]:
    """Highest priority first, then oldest, then lowest number (stable across passes)."""
    return sorted(tickets, key=lambda t: (-t.priority, t.created_at, t.number))


def _login_order(staff: Iterable[StaffMember]) -> list[StaffMember]:
    never = datetime.min
    return sorted(staff, key=lambda s: (s.last_assigned is not None, s.last_assigned or never, s.name))


def dispatch(
    queues: Sequence[QueueConfig],
    staff: Sequence[StaffMember],
    tickets: Sequence[PendingTicket],
    *,
    rng: random.Random,
    only_agent: str | None = None,
) -> list[Assignment]:
    """The assignments of one pass. ``only_agent``: that agent asks for one ticket (`support next`),
    whatever their availability, and gets at most one."""
    router = Router(rng)
    names = set()
    for q in queues:
        router.add_queue(replace(q, overflow=(), max_wait_s=None, relax=(), wrapup_s=0.0), 0.0)
        names.add(q.name)
    team = [s for s in staff if s.name == only_agent] if only_agent is not None else [s for s in staff if s.available]
    clock = 0.0
    for member in _login_order(team):
        capacity = {Channel.MAIL: capacity_of(member, only_agent)}
        router.add_agent(AgentConfig(member.name, capacity, voice_blocks_others=False, skills=member.skills), clock)
        for queue, (penalty, weight) in member.queues.items():
            if queue in names:
                router.add_member(member.name, queue, clock, penalty=penalty, weight=weight)
        clock += 1.0  # distinct idle-since times: the login order is the strategy's tie-break
        router.login(member.name, clock)
    free = {member.name: int(capacity_of(member, only_agent)) for member in team}
    taker = _Taker(router, free, clock)
    for ticket in dispatch_order(t for t in tickets if t.queue in names):
        item = WorkItem(str(ticket.number), ticket.queue, Channel.MAIL, contact_priority=ticket.priority)
        taker.take(router.enqueue(item, taker.now))
    return taker.assignments


def capacity_of(member: StaffMember, only_agent: str | None) -> int:
    return member.free if only_agent is None else min(member.free, 1)


class _Taker:
    """Takes every mail offer at once; the router then counts the ticket as handled (see the module doc)."""

    def __init__(self, router: Router, free: dict[str, int], now: float) -> None:
        self.router, self.free, self.now = router, free, now
        self.assignments: list[Assignment] = []
        self.taken: set[str] = set()

    def take(self, out: Outputs) -> None:
        pending = [c for c in out.commands if isinstance(c, Offer)]
        while pending:
            offer = pending.pop(0)
            if offer.item_id in self.taken:
                continue  # ring-all offered it to several agents: the first one took it
            self.taken.add(offer.item_id)
            self.assignments.append(Assignment(int(offer.item_id), offer.agent_id, offer.queue))
            self.free[offer.agent_id] -= 1
            self.now += 0.001  # distinct times: "idle since" orders the agents for the next ticket
            item, agent, router = offer.item_id, offer.agent_id, self.router
            for out in (
                router.accept(item, agent, self.now),
                router.set_capacity(agent, {Channel.MAIL: self.free[agent]}, self.now),
                router.complete(item, self.now),
            ):
                pending.extend(c for c in out.commands if isinstance(c, Offer))
