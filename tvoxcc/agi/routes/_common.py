"""What the call routes share: one error type for bad input, a deadline per request, safe argument reading.

Every failure is turned into an ``AgiError`` subclass, because the server logs those as one line and ends
the request; anything else would be logged with a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import re

from sqlalchemy.exc import SQLAlchemyError

from tvoxcc.agi.errors import AgiError, AgiTimeout
from tvoxcc.agi.request import AgiRequest
from tvoxcc.agi.server import Handler

# A DID or caller number as Asterisk hands it over; anything else is junk from a hostile or broken peer.
_NUMBER = re.compile(r"^\+?[0-9*#]{1,32}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Asterisk's placeholders for "no value" in agi_callerid/agi_dnid.
EMPTY = ("", "unknown", "anonymous", "<unknown>")


class RouteInputError(AgiError):
    """The request lacks what the route needs (args, agi_ variables) or names something that does not exist."""


def shown(value: str, limit: int = 40) -> str:
    """A value for a log line: bounded, so a hostile argument cannot flood the log."""
    return repr(value[:limit] + ("…" if len(value) > limit else ""))


def arg(request: AgiRequest, index: int) -> str:
    """The ``index``-th AGI() argument (0-based), stripped; ``""`` when missing."""
    args = request.args
    return args[index].strip() if index < len(args) else ""


def number_or_none(value: str) -> str | None:
    value = value.strip()
    if value.lower() in EMPTY or not _NUMBER.match(value):
        return None
    return value


def name_or_fail(value: str, what: str) -> str:
    if not _NAME.match(value):
        raise RouteInputError(f"missing or bad {what} {shown(value)}")
    return value


def guarded(handler: Handler, deadline: float) -> Handler:
    """``handler`` with a total deadline and store errors mapped to one-line AGI errors.

    The server's per-command timeout does not bound a request that keeps a caller in prompts, nor a store
    that hangs; this does.
    """

    @functools.wraps(handler)
    async def run(request: AgiRequest) -> None:
        try:
            async with asyncio.timeout(deadline):
                await handler(request)
        except TimeoutError:
            raise AgiTimeout(f"request took longer than {deadline:g}s") from None
        except SQLAlchemyError as exc:
            raise AgiError(f"store unavailable: {type(exc).__name__}") from None

    return run
