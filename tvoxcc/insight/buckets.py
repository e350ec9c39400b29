"""Interval buckets in the tenant's time zone.

Buckets are computed on local wall-clock time, so a day is the tenant's day (23 or 25 hours across a DST
change) and a 15-minute slot lines up with the local clock even in zones offset by 30 or 45 minutes.
Bucket keys are aware datetimes in the tenant's zone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tvoxcc.insight.model import Interval


def bucket_start(at: datetime, interval: Interval, tz: ZoneInfo) -> datetime:
    local = at.astimezone(tz)
    if interval is Interval.DAY:
        naive = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    elif interval is Interval.HOUR:
        naive = local.replace(minute=0, second=0, microsecond=0, tzinfo=None)
    else:
        naive = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0, tzinfo=None)
    # fold=local.fold keeps the repeated hour of a DST fall-back apart from the first one
    return naive.replace(tzinfo=tz, fold=local.fold if interval is not Interval.DAY else 0)


def next_bucket(start: datetime, interval: Interval, tz: ZoneInfo) -> datetime:
    if interval is Interval.DAY:
        naive = start.replace(tzinfo=None) + timedelta(days=1)
        return naive.replace(tzinfo=tz)
    # Sub-day slots step in absolute time: across DST the wall clock repeats or skips, the slots do not.
    return (start.astimezone(UTC) + interval.delta).astimezone(tz)


def split(begin: datetime, end: datetime, interval: Interval, tz: ZoneInfo) -> Iterator[tuple[datetime, float]]:
    """(bucket, seconds) for a span of time cut at bucket boundaries: state time belongs to when it passed."""
    # In UTC: Python subtracts and compares two datetimes of the same zone on the wall clock, DST ignored.
    cursor, stop_at = begin.astimezone(UTC), end.astimezone(UTC)
    while cursor < stop_at:
        bucket = bucket_start(cursor, interval, tz)
        stop = min(next_bucket(bucket, interval, tz).astimezone(UTC), stop_at)
        yield bucket, (stop - cursor).total_seconds()
        cursor = stop


def seconds(begin: datetime, end: datetime) -> float:
    """Elapsed seconds between two aware datetimes, right across a DST change."""
    return (end.astimezone(UTC) - begin.astimezone(UTC)).total_seconds()
