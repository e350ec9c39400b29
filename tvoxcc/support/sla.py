"""SLA clocks of a ticket, from its status history: pure, the time is passed in.

Two clocks per ticket, each with a target in minutes set on the ticket's service:
- first response: runs from creation until the first agent reply;
- resolution: runs until the ticket is solved (or closed); a reopened ticket's clock goes on from
  where it stopped, so a ticket that was solved late stays breached.
Both clocks run only while the ticket is ``new`` or ``open``: they pause while it is
``pending-customer`` (waiting on the customer is not our time) and stand still while solved/closed.
Minutes are business minutes when the service has business hours (tvoxcc.support.hours: a ticket
that arrives on Friday evening is due on Monday), calendar minutes otherwise. A target is met when
the work is done by the due moment itself; one second later it is breached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

from tvoxcc.support.hours import BusinessHours
from tvoxcc.support.status import TicketStatus


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"  # over target, done or not


@dataclass(frozen=True, slots=True)
class SlaTargets:
    first_response_minutes: int | None = None
    resolution_minutes: int | None = None
    hours: BusinessHours | None = None  # when the clocks run; None: around the clock


@dataclass(frozen=True, slots=True)
class StatusChange:
    at: datetime
    status: str  # the status the ticket has from ``at`` on


@dataclass(frozen=True, slots=True)
class Clock:
    """One SLA clock at ``now``."""

    target_s: int
    elapsed_s: float  # running time spent so far
    state: ClockState
    due: datetime | None  # when the target is (or was) reached if the clock keeps running; None while paused/met

    @property
    def remaining_s(self) -> float:
        return self.target_s - self.elapsed_s

    @property
    def breached(self) -> bool:
        return self.state is ClockState.BREACHED


@dataclass(frozen=True, slots=True)
class Sla:
    first_response: Clock | None
    resolution: Clock | None

    def most_urgent(self) -> Clock | None:
        """The clock to look at first: a breached or running one, the one with least time left."""
        live = [c for c in (self.first_response, self.resolution) if c is not None and c.state != "met"]
        return min(live, key=lambda c: (c.state is ClockState.PAUSED, c.remaining_s), default=None)


def _running(start: datetime, end: datetime, hours: BusinessHours | None) -> timedelta:
    return hours.between(start, end) if hours is not None else end - start


def _elapsed(
    history: Sequence[StatusChange], until: datetime, hours: BusinessHours | None
) -> tuple[timedelta, datetime | None]:
    """Running time before the current run, and since when the clock runs at ``until`` (None: stopped).

    Kept in timedeltas (exact microseconds), so the due time of a running clock is the same on every tick.
    """
    total = timedelta(0)
    running_since: datetime | None = None
    for change in history:
        if change.at > until:
            break
        if running_since is not None and change.status not in TicketStatus.AWAITING_US:
            total += _running(running_since, change.at, hours)
            running_since = None
        elif running_since is None and change.status in TicketStatus.AWAITING_US:
            running_since = change.at
    return total, running_since


def _clock(
    target_minutes: int,
    history: Sequence[StatusChange],
    stop_at: datetime | None,
    now: datetime,
    hours: BusinessHours | None,
) -> Clock:
    target = timedelta(minutes=target_minutes)
    until = min(stop_at, now) if stop_at is not None else now
    before, running_since = _elapsed(history, until, hours)
    elapsed = before + (_running(running_since, until, hours) if running_since is not None else timedelta(0))
    done = stop_at is not None and stop_at <= now
    if elapsed > target:
        state = ClockState.BREACHED
    elif done:
        state = ClockState.MET
    else:
        state = ClockState.RUNNING if running_since is not None else ClockState.PAUSED
    # The due moment, while the clock runs (past it when breached); a stopped clock has none.
    due = None
    if running_since is not None and not done:
        due = hours.after(running_since, target - before) if hours else running_since + (target - before)
    return Clock(target_minutes * 60, elapsed.total_seconds(), state, due)


def sla_of(
    history: Sequence[StatusChange],
    targets: SlaTargets,
    *,
    first_response_at: datetime | None,
    now: datetime,
) -> Sla:
    """The ticket's clocks at ``now``. ``history`` is in time order, starting with the creation (status new)."""
    resolution = None
    if targets.resolution_minutes is not None:
        done_at = history[-1].at if history and history[-1].status in TicketStatus.DONE else None
        resolution = _clock(targets.resolution_minutes, history, done_at, now, targets.hours)
    first = None
    if targets.first_response_minutes is not None:
        first = _clock(targets.first_response_minutes, history, first_response_at, now, targets.hours)
    return Sla(first, resolution)


def urgency_key(sla: Sla, priority: int, created_at: datetime) -> tuple[int, float, int, datetime]:
    """Sort key for the mail queue: breached first, then least time left, then priority, then age."""
    clock = sla.most_urgent()
    if clock is None:
        return (3, 0.0, -priority, created_at)
    rank = 0 if clock.breached else 1 if clock.state is ClockState.RUNNING else 2
    return (rank, clock.remaining_s, -priority, created_at)


def describe(clock: Clock | None, zone: tzinfo = UTC) -> str:
    """Short text for listings: 'due 2026-03-10 10:30' (in ``zone``), 'breached', 'paused 25m left', 'met'."""
    if clock is None:
        return ""
    if clock.state is ClockState.RUNNING and clock.due is not None:
        return f"due {clock.due.astimezone(zone):%Y-%m-%d %H:%M}"
    if clock.state is ClockState.PAUSED:
        return f"paused {max(0, int(clock.remaining_s // 60))}m left"
    return clock.state
