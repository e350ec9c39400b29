"""Business hours: reading them, and counting business time across nights, weekends, holidays and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tvoxcc.support.hours import BusinessHours, HoursError, business_hours, format_week, parse_week
from tvoxcc.support.sla import SlaTargets, StatusChange, sla_of

ROME = ZoneInfo("Europe/Rome")
OFFICE = "mon-fri 09:00-13:00,14:00-18:00; sat 09:00-12:00"


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME).astimezone(UTC)  # type: ignore[misc]


def office(*holidays: date) -> BusinessHours:
    hours = business_hours(OFFICE, holidays, "Europe/Rome")
    assert hours is not None
    return hours


def test_read_and_written_back_grouped() -> None:
    week = parse_week("MON 09:00-18:00; tue-fri 09:00-18:00 ; sun 00:00-24:00")
    assert format_week(week) == "mon-fri 09:00-18:00; sun 00:00-24:00"
    assert format_week(parse_week(OFFICE)) == OFFICE
    assert business_hours(None, [], "Europe/Rome") is None


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "no business hours"),
        ("mon-fry 09:00-18:00", "bad business hours"),
        ("mon 9-18", "expected HH:MM-HH:MM"),
        ("mon 09:00-25:00", "bad time"),
        ("mon 09:60-10:00", "bad time"),
        ("mon 18:00-09:00", "ends before it starts"),
        ("mon 09:00-12:00,11:00-13:00", "overlap"),
        ("mon-fri 09:00-18:00; fri 20:00-21:00", "fri is given twice"),
        ("sat-mon 09:00-18:00", "runs backwards"),
    ],
)
def test_bad_hours_say_what_is_wrong(text: str, error: str) -> None:
    with pytest.raises(HoursError, match=error):
        parse_week(text)


def test_business_time_over_a_lunch_break_a_night_and_a_weekend() -> None:
    hours = office()
    friday_five_pm = rome(2026, 12, 4, 17, 0)
    assert hours.between(rome(2026, 12, 4, 12, 30), rome(2026, 12, 4, 14, 30)) == timedelta(hours=1)  # lunch
    # Friday 17:00 to Monday 10:00: 1 h Friday, 3 h Saturday, Sunday closed, 1 h Monday.
    assert hours.between(friday_five_pm, rome(2026, 12, 7, 10, 0)) == timedelta(hours=5)
    assert hours.after(friday_five_pm, timedelta(hours=2)) == rome(2026, 12, 5, 10, 0)
    assert hours.after(friday_five_pm, timedelta(hours=4, minutes=30)) == rome(2026, 12, 7, 9, 30)
    assert hours.between(rome(2026, 12, 6, 10, 0), rome(2026, 12, 6, 11, 0)) == timedelta(0)  # Sunday
    assert hours.after(friday_five_pm, timedelta(hours=1)) == rome(2026, 12, 4, 18, 0)  # exactly at closing


def test_holidays_are_whole_days_off() -> None:
    christmas_eve_five_pm = rome(2026, 12, 24, 17, 0)  # Thursday
    assert office().after(christmas_eve_five_pm, timedelta(hours=2)) == rome(2026, 12, 25, 10, 0)
    closed = office(date(2026, 12, 25), date(2026, 12, 26))
    assert closed.after(christmas_eve_five_pm, timedelta(hours=2)) == rome(2026, 12, 28, 10, 0)


def test_daylight_saving_days_count_the_hours_that_passed() -> None:
    always = BusinessHours(ROME, parse_week("mon-sun 00:00-24:00"))
    # 29 March 2026: clocks go from 02:00 to 03:00, the day has 23 hours; 25 October 2026 has 25.
    assert always.between(rome(2026, 3, 29, 0, 0), rome(2026, 3, 30, 0, 0)) == timedelta(hours=23)
    assert always.between(rome(2026, 10, 25, 0, 0), rome(2026, 10, 26, 0, 0)) == timedelta(hours=25)
    # Office hours stay 09:00 local on both sides of the change.
    hours = office()
    assert hours.after(rome(2026, 3, 27, 17, 0), timedelta(hours=2)) == rome(2026, 3, 28, 10, 0)
    assert hours.after(rome(2026, 3, 28, 11, 0), timedelta(hours=2)) == rome(2026, 3, 30, 10, 0)


def test_a_calendar_without_any_business_time_ahead_has_no_due_moment() -> None:
    only_new_year = BusinessHours(ROME, parse_week("mon-sun 09:00-10:00"), frozenset())
    assert only_new_year.after(rome(2026, 1, 1, 9, 0), timedelta(hours=1)) == rome(2026, 1, 1, 10, 0)
    every_day_off = BusinessHours(
        ROME, parse_week("mon 09:00-10:00"), frozenset(date(2026, 1, 5) + timedelta(weeks=w) for w in range(200))
    )
    assert every_day_off.after(rome(2026, 1, 1, 9, 0), timedelta(hours=1)) is None


def test_sla_clocks_run_in_business_hours_and_still_pause_on_the_customer() -> None:
    targets = SlaTargets(first_response_minutes=120, resolution_minutes=8 * 60, hours=office())
    created = rome(2026, 12, 4, 17, 0)  # Friday 17:00
    history = [StatusChange(created, "new")]
    on_monday = sla_of(history, targets, first_response_at=None, now=rome(2026, 12, 7, 8, 0))
    assert on_monday.first_response is not None and on_monday.resolution is not None
    # 1 h Friday + 3 h Saturday ran: the 2 h first-response target ran out on Saturday at 10:00.
    assert (on_monday.first_response.state, on_monday.first_response.due) == ("breached", rome(2026, 12, 5, 10, 0))
    assert on_monday.resolution.elapsed_s == 4 * 3600 and on_monday.resolution.due == rome(2026, 12, 7, 13, 0)
    # Waiting on the customer from Monday 09:30 to Tuesday 09:00 takes nothing off the resolution clock.
    history += [StatusChange(rome(2026, 12, 7, 9, 30), "pending-customer"), StatusChange(rome(2026, 12, 8, 9), "open")]
    later = sla_of(history, targets, first_response_at=None, now=rome(2026, 12, 8, 9, 0))
    assert later.resolution is not None
    assert later.resolution.elapsed_s == 4.5 * 3600 and later.resolution.due == rome(2026, 12, 8, 12, 30)


def test_open_now_within_the_ranges_only_and_never_on_a_holiday() -> None:
    hours = office(date(2026, 12, 8))
    assert hours.is_open(rome(2026, 12, 4, 9, 0))  # Friday at opening
    assert not hours.is_open(rome(2026, 12, 4, 13, 30))  # lunch
    assert not hours.is_open(rome(2026, 12, 4, 18, 0))  # closing is closed
    assert hours.is_open(rome(2026, 12, 5, 11, 59)) and not hours.is_open(rome(2026, 12, 5, 12, 0))  # Saturday
    assert not hours.is_open(rome(2026, 12, 6, 10, 0))  # Sunday
    assert hours.is_open(rome(2026, 12, 7, 10, 0)) and not hours.is_open(rome(2026, 12, 8, 10, 0))  # a holiday
