"""One supervisor's listen / whisper / barge session on an agent's live call: a pure state machine.

requested (a web request: the supervisor's phone rings first)
          -> refused (a prompt, then the supervisor's leg hangs up)
          -> active(mode) -> ended (the agent's call ended, or the supervisor hung up)
While active, a DTMF digit switches the mode without redialling (1 listen, 2 whisper, 3 barge).

How each mode is carried out (commands out; tvoxcc.supervision.adapter runs them over ARI):
- listen: a snoop channel on the agent's leg spying both directions (the caller and the agent), whispering
  nothing, in a bridge of its own with the supervisor: the supervisor hears both, nobody hears the supervisor;
- whisper: the same snoop with ``whisper=out``: what the supervisor says is written towards the agent's phone
  only (the agent's leg's "out" direction is what the agent hears); the caller's leg gets nothing;
- barge: the supervisor joins the call's own bridge (a three-way call); when the agent's call is not in a bridge
  of ours, a snoop spying and whispering both ways does the same.
Asterisk cannot change a snoop's directions, so a mode change makes a new snoop first and only then drops the
old one (no gap in what the supervisor hears).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Mode(StrEnum):
    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


class Phase(StrEnum):
    REQUESTED = "requested"
    RINGING = "ringing"  # a web request: the supervisor's phone is being rung (the row's phase only)
    REFUSED = "refused"
    ACTIVE = "active"
    ENDED = "ended"


class Origin(StrEnum):
    PHONE = "phone"  # the supervisor dialled *80/*81/*82 + extension
    WEB = "web"  # the wallboard's action rang the supervisor's phone first


class Refusal(StrEnum):
    UNKNOWN_SUPERVISOR = "unknown-supervisor"  # no user is linked to the phone, or no such user
    NOT_SUPERVISOR = "not-supervisor"  # an agent or support user
    OTHER_TENANT = "other-tenant"  # a supervisor of another tenant
    UNKNOWN_AGENT = "unknown-agent"  # no agent with that extension / name in the tenant
    OWN_CALL = "own-call"  # the supervisor asked for their own call
    OUT_OF_SCOPE = "out-of-scope"  # a supervisor scoped to groups asked for an agent of none of them
    NOT_ON_CALL = "not-on-call"  # the agent has no live call now
    NO_PHONE = "no-phone"  # a web request by a user with no phone to ring


class EndReason(StrEnum):
    CALL_ENDED = "call-ended"
    SUPERVISOR_HUNG_UP = "supervisor-hung-up"
    FAILED = "failed"  # Asterisk refused a step (the agent's leg vanished meanwhile…)


# The digit a supervisor presses during the session -> the mode it switches to.
DIGIT_MODES: dict[str, Mode] = {"1": Mode.LISTEN, "2": Mode.WHISPER, "3": Mode.BARGE}
# Feature code prefix -> the mode it starts in (dialplan/extensions.conf.j2).
CODE_MODES: dict[str, Mode] = {"*80": Mode.LISTEN, "*81": Mode.WHISPER, "*82": Mode.BARGE}
# ARI snoop directions (spy, whisper) of each mode carried out with a snoop.
SNOOP_DIRECTIONS: dict[Mode, tuple[str, str]] = {
    Mode.LISTEN: ("both", "none"),
    Mode.WHISPER: ("both", "out"),
    Mode.BARGE: ("both", "both"),  # only when the call has no bridge of ours to join
}


# -- commands out ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refuse:
    """Tell the supervisor why (a prompt), then hang up their leg (the dialplan does both)."""

    reason: Refusal


@dataclass(frozen=True, slots=True)
class Snoop:
    """A new snoop on the agent's leg with these directions, in the session's bridge with the supervisor (who
    is put back there when ``fetch_supervisor``: the first mode, or coming back from a barge)."""

    spy: str
    whisper: str
    fetch_supervisor: bool


@dataclass(frozen=True, slots=True)
class JoinCall:
    """Move the supervisor into the call's bridge (a three-way call)."""

    bridge_id: str


@dataclass(frozen=True, slots=True)
class DropSnoop:
    """Hang up the snoop made before the current one (or the last one, when the session ends)."""


@dataclass(frozen=True, slots=True)
class HangupSupervisor:
    pass


@dataclass(frozen=True, slots=True)
class Finish:
    """Destroy the session's own bridge."""


SessionCommand = Refuse | Snoop | JoinCall | DropSnoop | HangupSupervisor | Finish


@dataclass(frozen=True, slots=True)
class ModeChange:
    mode: Mode
    at: datetime

    def as_json(self) -> dict[str, str]:
        return {"mode": self.mode.value, "at": self.at.isoformat()}


# -- the session -------------------------------------------------------------------------------------------------


@dataclass
class ListenSession:
    requested: Mode
    requested_at: datetime
    phase: Phase = Phase.REQUESTED
    mode: Mode | None = None
    call_bridge: str | None = None  # the agent's call's bridge, when it is one of ours
    changes: list[ModeChange] = field(default_factory=list)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    refused: Refusal | None = None
    end_reason: EndReason | None = None
    snooping: bool = False  # a snoop of ours is live

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    def refuse(self, reason: Refusal, now: datetime) -> list[SessionCommand]:
        if self.phase is not Phase.REQUESTED:
            return []
        self.phase, self.refused, self.ended_at = Phase.REFUSED, reason, now
        return [Refuse(reason)]

    def authorise(self, call_bridge: str | None, now: datetime) -> list[SessionCommand]:
        """The supervisor may, and the agent's leg is live: start in the mode asked for."""
        if self.phase is not Phase.REQUESTED:
            return []
        self.phase, self.started_at, self.call_bridge = Phase.ACTIVE, now, call_bridge
        return self._enter(self.requested, now)

    def digit(self, digit: str, now: datetime) -> list[SessionCommand]:
        mode = DIGIT_MODES.get(digit)
        if self.phase is not Phase.ACTIVE or mode is None or mode is self.mode:
            return []
        return self._enter(mode, now)

    def agent_left(self, now: datetime) -> list[SessionCommand]:
        """The agent's call ended: the snoop and the supervisor's leg end with it."""
        return self._end(EndReason.CALL_ENDED, now, hang_up_supervisor=True)

    def supervisor_left(self, now: datetime) -> list[SessionCommand]:
        return self._end(EndReason.SUPERVISOR_HUNG_UP, now, hang_up_supervisor=False)

    def failed(self, now: datetime) -> list[SessionCommand]:
        return self._end(EndReason.FAILED, now, hang_up_supervisor=True)

    def _enter(self, mode: Mode, now: datetime) -> list[SessionCommand]:
        was_in_call = self.mode is Mode.BARGE and self.call_bridge is not None
        commands: list[SessionCommand]
        if mode is Mode.BARGE and self.call_bridge is not None:
            commands = [JoinCall(self.call_bridge)]
            if self.snooping:
                commands.append(DropSnoop())
            self.snooping = False
        else:
            spy, whisper = SNOOP_DIRECTIONS[mode]
            commands = [Snoop(spy, whisper, fetch_supervisor=self.mode is None or was_in_call)]
            if self.snooping:
                commands.append(DropSnoop())  # the old one, once the new one is in place
            self.snooping = True
        self.mode = mode
        self.changes.append(ModeChange(mode, now))
        return commands

    def _end(self, reason: EndReason, now: datetime, *, hang_up_supervisor: bool) -> list[SessionCommand]:
        if self.phase is Phase.REQUESTED:
            # gone before the checks finished: nothing started, nothing to undo
            self.phase, self.ended_at, self.end_reason = Phase.ENDED, now, reason
            return [HangupSupervisor()] if hang_up_supervisor else []
        if self.phase is not Phase.ACTIVE:
            return []
        self.phase, self.ended_at, self.end_reason = Phase.ENDED, now, reason
        commands: list[SessionCommand] = [DropSnoop()] if self.snooping else []
        self.snooping = False
        if hang_up_supervisor:
            commands.append(HangupSupervisor())
        commands.append(Finish())
        return commands
