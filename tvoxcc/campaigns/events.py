"""What goes into the dialer core (events) and what comes out (commands)."""

from __future__ import annotations

from dataclasses import dataclass

from tvoxcc.campaigns.model import LineOutcome


@dataclass(frozen=True, slots=True)
class AgentReady:
    """The agent can take a campaign call now (logged in, free, its wrap-up over)."""

    agent: str


@dataclass(frozen=True, slots=True)
class AgentAway:
    """The agent cannot take campaign calls (paused, logged out, busy with other work)."""

    agent: str


@dataclass(frozen=True, slots=True)
class LineResult:
    """A dialled line was answered (by a person or a machine) or ended unanswered."""

    line: int
    outcome: LineOutcome


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The agent's talk with the called party ended; the disposition the agent gave, if any."""

    line: int
    disposition: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectFailed:
    """The agent given the line never came on it (its phone did not answer): the person was abandoned."""

    line: int


@dataclass(frozen=True, slots=True)
class DoNotCall:
    number: str  # E.164


Event = AgentReady | AgentAway | LineResult | CallEnded | ConnectFailed | DoNotCall


@dataclass(frozen=True, slots=True)
class Dial:
    """Originate a call to the record's number; give it up unanswered after ring_s (≥ 15 s)."""

    line: int
    record_id: int
    number: str
    ring_s: float
    agent: str | None  # the agent reserved for it (progressive, preview); None: predictive


@dataclass(frozen=True, slots=True)
class Connect:
    line: int
    agent: str


@dataclass(frozen=True, slots=True)
class Abandon:
    """A person answered and no agent came within 2 s: play the message naming the caller, then hang up."""

    line: int


@dataclass(frozen=True, slots=True)
class HangUp:
    line: int


@dataclass(frozen=True, slots=True)
class LeaveMessage:
    line: int


Command = Dial | Connect | Abandon | HangUp | LeaveMessage
