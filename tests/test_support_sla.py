"""The SLA core: clocks from a ticket's status history, paused while waiting on the customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tvoxcc.support.sla import Sla, SlaTargets, StatusChange, describe, sla_of, urgency_key

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TARGETS = SlaTargets(first_response_minutes=60, resolution_minutes=240)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def history(*changes: tuple[float, str]) -> list[StatusChange]:
    return [StatusChange(at(minute), status) for minute, status in [(0, "new"), *changes]]


def test_running_clocks_give_due_and_remaining() -> None:
    sla = sla_of(history(), TARGETS, first_response_at=None, now=at(30))
    assert sla.first_response is not None and sla.resolution is not None
    assert (sla.first_response.state, sla.first_response.due, sla.first_response.remaining_s) == (
        "running",
        at(60),
        1800,
    )
    assert (sla.resolution.state, sla.resolution.due) == ("running", at(240))


def test_the_clock_pauses_while_pending_customer() -> None:
    h = history((10, "open"), (20, "pending-customer"), (50, "open"))
    paused = sla_of(h[:3], TARGETS, first_response_at=None, now=at(40)).resolution
    assert paused is not None and (paused.state, paused.due, paused.remaining_s) == ("paused", None, 220 * 60)
    resumed = sla_of(h, TARGETS, first_response_at=None, now=at(60))
    # 20 minutes before the pause + 10 after it: the 30 paused minutes are not counted.
    assert resumed.first_response is not None and resumed.first_response.due == at(90)
    assert resumed.resolution is not None and resumed.resolution.due == at(270)


def test_breach_at_the_exact_minute() -> None:
    h = history()
    assert sla_of(h, TARGETS, first_response_at=None, now=at(60)).first_response.state == "running"  # type: ignore[union-attr]
    late = sla_of(h, TARGETS, first_response_at=None, now=at(60) + timedelta(seconds=1)).first_response
    assert late is not None and late.breached and late.due == at(60)
    on_time = sla_of(h, TARGETS, first_response_at=at(60), now=at(500)).first_response
    assert on_time is not None and on_time.state == "met"
    too_late = sla_of(h, TARGETS, first_response_at=at(60) + timedelta(seconds=1), now=at(500)).first_response
    assert too_late is not None and too_late.breached


def test_first_response_clock_stops_at_the_reply() -> None:
    h = history((5, "open"), (30, "pending-customer"))
    sla = sla_of(h, TARGETS, first_response_at=at(30), now=at(1000))
    assert sla.first_response is not None and sla.first_response.state == "met"
    assert sla.resolution is not None and sla.resolution.state == "paused" and sla.resolution.remaining_s == 210 * 60


def test_reopen_goes_on_from_where_the_clock_stopped() -> None:
    targets = SlaTargets(resolution_minutes=60)
    solved = history((10, "open"), (40, "solved"))
    assert sla_of(solved, targets, first_response_at=None, now=at(100)).resolution.state == "met"  # type: ignore[union-attr]
    reopened = [*solved, StatusChange(at(120), "open")]
    clock = sla_of(reopened, targets, first_response_at=None, now=at(130)).resolution
    assert clock is not None and (clock.state, clock.due) == ("running", at(140))
    breached = sla_of(reopened, targets, first_response_at=None, now=at(141)).resolution
    assert breached is not None and breached.breached
    solved_late = [*reopened, StatusChange(at(150), "solved")]
    stays = sla_of(solved_late, targets, first_response_at=None, now=at(500)).resolution
    assert stays is not None and stays.breached and stays.due is None


def test_closed_from_pending_does_not_run_and_no_targets_no_clocks() -> None:
    h = history((10, "pending-customer"), (500, "closed"))
    assert sla_of(h, SlaTargets(resolution_minutes=60), first_response_at=None, now=at(900)).resolution.state == "met"  # type: ignore[union-attr]
    assert sla_of(h, SlaTargets(), first_response_at=None, now=at(900)) == Sla(None, None)


def test_urgency_breached_then_least_time_left_then_priority() -> None:
    def key(created: float, priority: int = 0, now: float = 100) -> tuple[int, float, int, datetime]:
        start = [StatusChange(at(created), "new")]
        return urgency_key(sla_of(start, SlaTargets(60), first_response_at=None, now=at(now)), priority, at(created))

    late, soon, later, vip_later = key(0), key(50), key(80), key(80, priority=5)
    assert sorted([later, soon, vip_later, late]) == [late, soon, vip_later, later]
    none = urgency_key(Sla(None, None), 9, at(0))
    assert sorted([none, later]) == [later, none]


def test_describe() -> None:
    clock = sla_of(history(), TARGETS, first_response_at=None, now=at(30)).first_response
    assert describe(clock) == "due 2026-03-02 11:00"
    assert describe(None) == ""


def test_due_is_the_same_at_every_tick_to_the_microsecond() -> None:
    odd = timedelta(microseconds=333_333)
    h = [StatusChange(T0 + odd, "new"), StatusChange(at(7) + odd * 2, "pending-customer"), StatusChange(at(9), "open")]
    dues = {sla_of(h, TARGETS, first_response_at=None, now=at(9) + odd * k).resolution.due for k in range(1, 50)}  # type: ignore[union-attr]
    assert dues == {at(240) + odd + (at(9) - at(7) - odd * 2)}
