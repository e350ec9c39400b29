"""Where a number is and whether it may be called now: its time zones, the call window, the do-not-call list."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as number_zones

from tvoxcc.campaigns.model import CallWindow

UNKNOWN_ZONE = "Etc/Unknown"


class NumberError(ValueError):
    pass


def normalise(number: str, region: str) -> str:
    """E.164 form of a number written in `region`'s way (or already international); NumberError if not valid."""
    try:
        parsed = phonenumbers.parse(number, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise NumberError(f"{number!r} is not a phone number ({exc})") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise NumberError(f"{number!r} is not a valid number for {region.upper()}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def zones_of(e164: str, tenant_zone: str) -> tuple[str, ...]:
    """The zones the number may be in (phonenumbers' geography); the tenant's zone when it does not know."""
    try:
        zones = number_zones.time_zones_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        zones = ()
    known = tuple(z for z in zones if z != UNKNOWN_ZONE)
    return known or (tenant_zone,)


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def in_window(window: CallWindow, zones: tuple[str, ...], now: float) -> bool:
    """Open in every zone the number may be in: a number whose zone is uncertain is called only when all agree."""
    instant = datetime.fromtimestamp(now, UTC)
    for name in zones:
        local = instant.astimezone(_zone(name))
        if local.weekday() not in window.days or not window.is_open_at(local.time()):
            return False
    return True
