"""What an agent's own call is, and the pure decisions about it (no I/O, no clock).

An agent dials out from the phone (the tenant's prefix, ``9`` by default, then the number: the dialplan hands
the call to the voice service) or asks the desktop to (the agent's phone rings first). Either way the number is
checked here before anything is dialled: ``refusal`` says why not, else the voice service dials the customer
through the tenant's outbound route and the agent stays busy in the ACD until the call ends.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from enum import StrEnum

from tvoxcc.campaigns.model import BUSY_CAUSES  # Q.850: the campaigns' lines read them too
from tvoxcc.interactions import Outcome

DEFAULT_PREFIX = "9"
REQUEST_TTL_S = 60.0  # a click-to-call not taken by then is never rung (the agent asked a minute ago)
# A number an agent may dial: digits with an optional leading +, like the campaign lists' E.164 (at least 3
# digits: an extension-like "12" is an internal call, not the outbound route's).
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
_SEPARATORS = re.compile(r"[\s().-]")


class Origin(StrEnum):
    PHONE = "phone"  # the agent dialled the prefix and the number
    DESKTOP = "desktop"  # click-to-call: the agent's phone is rung first


class Phase(StrEnum):
    REQUESTED = "requested"  # a desktop request the voice service has not taken yet
    RINGING_AGENT = "ringing"  # the agent's phone rings (click-to-call)
    DIALING = "dialing"  # the customer's phone rings
    TALKING = "talking"
    ENDED = "ended"
    REFUSED = "refused"

    OPEN: frozenset[Phase]


Phase.OPEN = frozenset({Phase.REQUESTED, Phase.RINGING_AGENT, Phase.DIALING, Phase.TALKING})


class Refusal(StrEnum):
    EMPTY_NUMBER = "empty-number"
    INVALID_NUMBER = "invalid-number"
    DO_NOT_CALL = "do-not-call"
    NO_ROUTE = "no-outbound-route"  # the tenant has no outbound route
    UNKNOWN_AGENT = "unknown-agent"
    BUSY_AGENT = "agent-busy"  # already on a call (or a call of theirs is being placed)
    AGENT_NO_ANSWER = "agent-no-answer"  # click-to-call: the agent's phone was not answered
    EXPIRED = "expired"  # click-to-call: no voice service took it in time (the agent has moved on)

    @property
    def message(self) -> str:
        return MESSAGES[self]


MESSAGES: dict[Refusal, str] = {
    Refusal.EMPTY_NUMBER: "no number given",
    Refusal.INVALID_NUMBER: "not a phone number (digits, optionally a leading +)",
    Refusal.DO_NOT_CALL: "the number is on the tenant's do-not-call list",
    Refusal.NO_ROUTE: "the tenant has no outbound route (tvoxcc import with an outbound: section)",
    Refusal.UNKNOWN_AGENT: "no such agent",
    Refusal.BUSY_AGENT: "the agent is already on a call",
    Refusal.AGENT_NO_ANSWER: "the agent's phone did not answer",
    Refusal.EXPIRED: "no voice service took the request in time",
}


def clean_number(text: str) -> str:
    """What the agent typed without spaces, dots, dashes and brackets ("+39 02-1234" -> "+39021234")."""
    return _SEPARATORS.sub("", text.strip())


def dialled_number(exten: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The number in what the phone dialled (the prefix taken off); "" when only the prefix was dialled."""
    return exten[len(prefix) :] if exten.startswith(prefix) else exten


def refusal(number: str, *, do_not_call: Collection[str], has_route: bool, e164: str | None = None) -> Refusal | None:
    """Why ``number`` must not be dialled (None: it may). The do-not-call list is the campaigns' (per tenant,
    E.164): ``e164`` is the number read in the tenant's country, when it is a valid one."""
    if not number:
        return Refusal.EMPTY_NUMBER
    if not _NUMBER.match(number):
        return Refusal.INVALID_NUMBER
    if not has_route:
        return Refusal.NO_ROUTE
    if any(spelling in do_not_call for spelling in (*spellings(number), e164)):
        return Refusal.DO_NOT_CALL
    return None


def spellings(number: str) -> tuple[str, str]:
    """A number with and without its leading + (a list may hold either)."""
    bare = number.removeprefix("+")
    return bare, f"+{bare}"


def end_outcome(*, answered: bool, cause: int) -> Outcome:
    """How the outbound interaction ends: talked, or the customer's phone never answered."""
    if answered:
        return Outcome.ANSWERED
    return Outcome.NO_ANSWER


def end_detail(*, answered: bool, cause: int) -> str:
    """A word for the journey: why an unanswered call ended."""
    if answered:
        return "answered"
    return "busy" if cause in BUSY_CAUSES else "no-answer"
