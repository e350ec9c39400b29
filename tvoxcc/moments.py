"""Moments as people write them: an ISO date or datetime (UTC unless it says otherwise), or an age such as
``7d`` / ``12h`` / ``30m`` counted back from now. The CLI's options and the web API's query parameters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_AGE = re.compile(r"^(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_moment(text: str, now: datetime) -> datetime:
    """Raises ValueError with the accepted forms when ``text`` is none of them."""
    age = _AGE.match(text.strip())
    if age:
        return now - timedelta(**{_UNITS[age.group(2)]: int(age.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        forms = "a date (2026-12-01), a datetime (2026-12-01T08:00) or an age (7d, 12h)"
        raise ValueError(f"{text!r} is not {forms}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
