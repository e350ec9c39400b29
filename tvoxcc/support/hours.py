"""Business hours of a service: when its SLA clocks run. Pure; times are aware datetimes.

Written as the admin types them, in the tenant's timezone: ``mon-fri 09:00-18:00; sat 09:00-13:00``,
several ranges a day with commas (``mon-fri 09:00-13:00,14:00-18:00``), ``24:00`` for midnight at
the end of a day. Holidays are whole days off. All arithmetic is done in UTC, so a day with a
daylight-saving change counts the hours that really passed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(r"^([a-z]{3})(?:-([a-z]{3}))?\s+(.+)$")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
# How far ahead a due moment is looked for: a calendar with no working day in this span has no due moment.
_HORIZON_DAYS = 3 * 366
_NEVER = datetime.max.replace(tzinfo=UTC)

Ranges = tuple[tuple[int, int], ...]  # minutes from local midnight, [start, end)


class HoursError(ValueError):
    """Business hours that cannot be read; the message says what is wrong."""


def _minutes(hours: str, minutes: str, text: str) -> int:
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > 24 * 60:
        raise HoursError(f"bad time in {text!r}: use HH:MM from 00:00 to 24:00")
    return value


def _ranges(text: str) -> Ranges:
    found: list[tuple[int, int]] = []
    for piece in text.split(","):
        match = _RANGE.match(piece.strip())
        if match is None:
            raise HoursError(f"bad time range {piece.strip()!r}: expected HH:MM-HH:MM")
        start, end = _minutes(match[1], match[2], piece), _minutes(match[3], match[4], piece)
        if start >= end:
            raise HoursError(f"time range {piece.strip()!r} ends before it starts")
        found.append((start, end))
    found.sort()
    for (_, end), (start, _) in itertools.pairwise(found):
        if start < end:
            raise HoursError(f"time ranges overlap in {text!r}")
    return tuple(found)


def parse_week(text: str) -> tuple[Ranges, ...]:
    """Seven days of ranges, Monday first, from ``mon-fri 09:00-18:00; sat 09:00-13:00``."""
    week: list[Ranges | None] = [None] * 7
    parts = [p.strip() for p in text.strip().lower().split(";") if p.strip()]
    if not parts:
        raise HoursError("no business hours given (e.g. 'mon-fri 09:00-18:00', or 'always')")
    for part in parts:
        match = _PART.match(part)
        if match is None or match[1] not in DAYS or (match[2] is not None and match[2] not in DAYS):
            raise HoursError(
                f"bad business hours {part!r}: expected e.g. 'mon-fri 09:00-18:00' (days: {' '.join(DAYS)})"
            )
        first = DAYS.index(match[1])
        last = DAYS.index(match[2]) if match[2] else first
        if last < first:
            raise HoursError(f"day range {match[1]}-{match[2]} runs backwards: write it from Monday on")
        ranges = _ranges(match[3])
        for day in range(first, last + 1):
            if week[day] is not None:
                raise HoursError(f"{DAYS[day]} is given twice")
            week[day] = ranges
    return tuple(ranges or () for ranges in week)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_week(week: tuple[Ranges, ...]) -> str:
    """The canonical text of a week: consecutive days with the same ranges grouped (``mon-fri …``)."""
    parts: list[str] = []
    day = 0
    while day < 7:
        last = day
        while last + 1 < 7 and week[last + 1] == week[day]:
            last += 1
        if week[day]:
            days = DAYS[day] if last == day else f"{DAYS[day]}-{DAYS[last]}"
            parts.append(f"{days} {','.join(f'{_clock(a)}-{_clock(b)}' for a, b in week[day])}")
        day = last + 1
    return "; ".join(parts)


@dataclass(frozen=True)
class BusinessHours:
    zone: ZoneInfo
    week: tuple[Ranges, ...]  # Monday first
    holidays: frozenset[date] = frozenset()
    # Business time of whole days already worked out: the SLA tick asks for the same days for every open ticket.
    _days: dict[date, timedelta] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def _ranges(self, day: date) -> Ranges:
        return () if day in self.holidays else self.week[day.weekday()]

    def _day(self, day: date, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The business intervals of local ``day`` within [start, end), in UTC."""
        for first, last in self._ranges(day):
            # Local wall times, to UTC only then: a DST day's 09:00 is still 09:00.
            low, high = max(_local(day, first, self.zone), start), min(_local(day, last, self.zone), end)
            if low < high:
                yield low, high

    def _whole_day(self, day: date) -> timedelta:
        """All the business time of local ``day``."""
        found = self._days.get(day)
        if found is None:
            # Real time between local wall times: a range over a DST change is an hour shorter or longer.
            found = self._days[day] = sum(
                (_local(day, b, self.zone) - _local(day, a, self.zone) for a, b in self._ranges(day)), timedelta(0)
            )
        return found

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` falls within the hours (a holiday never does)."""
        day = at.astimezone(self.zone).date()
        return any(True for _ in self._day(day, at, at + timedelta(microseconds=1)))

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from ``start`` to ``end`` (nothing when end is not after start).

        The first and last days are clipped; whole days between them count at once (a ticket open for a
        month is ~30 cheap steps on every SLA tick, not 30 days of intervals).
        """
        if end <= start:
            return timedelta(0)
        first, last = start.astimezone(self.zone).date(), end.astimezone(self.zone).date()
        total = sum((high - low for low, high in self._day(first, start, end)), timedelta(0))
        if last == first:
            return total
        day = first + timedelta(days=1)
        while day < last:
            total += self._whole_day(day)
            day += timedelta(days=1)
        return total + sum((high - low for low, high in self._day(last, start, end)), timedelta(0))

    def after(self, start: datetime, amount: timedelta) -> datetime | None:
        """The moment ``amount`` of business time has passed since ``start``; None if no business time comes."""
        if amount <= timedelta(0):
            return start + amount  # already over: as far before start as a calendar clock would say
        left = amount
        first_day = day = start.astimezone(self.zone).date()
        for _ in range(_HORIZON_DAYS):
            # The first day is clipped at start; a later one is skipped whole when it cannot use up what is left.
            whole = self._whole_day(day) if day != first_day else None
            if whole is not None and whole < left:
                left -= whole
            else:
                for low, high in self._day(day, start, _NEVER):
                    if high - low >= left:
                        return low + left
                    left -= high - low
            day += timedelta(days=1)
        return None


def _local(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """``minutes`` after local midnight of ``day`` (24:00 is the next midnight), in UTC."""
    extra, minutes = divmod(minutes, 24 * 60)
    wall = datetime.combine(day + timedelta(days=extra), time(minutes // 60, minutes % 60), tzinfo=zone)
    return wall.astimezone(UTC)


def business_hours(text: str | None, holidays: Iterable[date], timezone: str) -> BusinessHours | None:
    """A service's hours from its stored text; None (around the clock) when it has none."""
    if not text:
        return None
    return BusinessHours(ZoneInfo(timezone), parse_week(text), frozenset(holidays))
