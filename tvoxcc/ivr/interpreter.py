"""The IVR interpreter: ``(flow, state, event, now) -> (state, commands)``. No I/O, no clock of its own.

The voice adapter feeds it what happened on the channel (a playback finished, a digit, a timer fired, a
recording ended) and executes the commands it returns (play, stop, start a timer, record, hand to a
queue…). Ids of playbacks and timers are tokens made here from a counter in the state, so a late event
from an earlier prompt is recognised and ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from tvoxcc.ivr import commands as c
from tvoxcc.ivr.events import CallerHungUp, Dtmf, IvrEvent, PlaybackDone, RecordingDone, TimerFired
from tvoxcc.ivr.nodes import (
    DAYS,
    Branch,
    Collect,
    Flow,
    Hangup,
    Language,
    Menu,
    Play,
    RequestCallback,
    SetRouting,
    TimeCondition,
    ToQueue,
    Transfer,
    Voicemail,
)

MAX_PASSIVE_STEPS = 100  # checks forbid loops without input; this only guards against a bad stored flow


@dataclass(frozen=True)
class CallerInfo:
    """What is known of the caller when the call arrives (from the DID and the contact lookup)."""

    caller: str
    timezone: str = "UTC"
    language: str = "en"
    known: bool = False
    vip: bool = False
    open_tickets: int = 0


class IvrPhase(StrEnum):
    START = "start"
    ENTERED = "entered"  # a node just entered
    PROMPT = "prompt"  # its prompt plays
    WAITING = "waiting"  # for a digit, under a timer
    RECORDING = "recording"  # a voicemail
    DONE = "done"  # the IVR let go of the call (``IvrState.outcome`` says how)


@dataclass(frozen=True)
class IvrState:
    node: str
    phase: IvrPhase = IvrPhase.START
    attempts: int = 0
    digits: str = ""
    playback: str | None = None
    timer: str | None = None
    seq: int = 0
    language: str = "en"
    priority: int = 0
    skills: tuple[tuple[str, int], ...] = ()
    variables: tuple[tuple[str, str], ...] = ()
    path: tuple[str, ...] = ()
    outcome: c.IvrExit | None = None


@dataclass
class _Step:
    flow: Flow
    info: CallerInfo
    now: datetime
    state: IvrState
    out: list[c.Command] = field(default_factory=list)

    def token(self, prefix: str) -> str:
        self.state = replace(self.state, seq=self.state.seq + 1)
        return f"{prefix}{self.state.seq}"

    def play(self, prompts: list[str]) -> None:
        playback = self.token("p")
        self.state = replace(self.state, playback=playback, phase=IvrPhase.PROMPT)
        self.out.append(c.Play(playback, tuple(prompts), self.state.language))

    def stop_playback(self) -> None:
        if self.state.playback is not None:
            self.out.append(c.StopPlayback(self.state.playback))
            self.state = replace(self.state, playback=None)

    def start_timer(self, seconds: float) -> None:
        timer = self.token("t")
        self.state = replace(self.state, timer=timer, phase=IvrPhase.WAITING)
        self.out.append(c.StartTimer(timer, seconds))

    def cancel_timer(self) -> None:
        if self.state.timer is not None:
            self.out.append(c.CancelTimer(self.state.timer))
            self.state = replace(self.state, timer=None)

    def finish(self, command: c.Command, outcome: c.IvrExit) -> None:
        self.cancel_timer()
        self.stop_playback()
        self.out.append(command)
        self.out.append(c.Note(c.IvrNote.EXIT, {"outcome": outcome, "path": list(self.state.path)}))
        self.state = replace(self.state, phase=IvrPhase.DONE, outcome=outcome)

    # -- entering nodes -------------------------------------------------------------------------

    def enter(self, node_id: str) -> None:
        for _ in range(MAX_PASSIVE_STEPS):
            self.state = replace(
                self.state,
                node=node_id,
                attempts=0,
                digits="",
                path=(*self.state.path, node_id),
                phase=IvrPhase.ENTERED,
            )
            self.out.append(c.Note(c.IvrNote.NODE, {"node": node_id}))
            following = self._run_passive(node_id)
            if following is None:
                return
            node_id = following
        self.finish(c.HangupCall(), c.IvrExit.LOOP_GUARD)

    def _run_passive(self, node_id: str) -> str | None:
        """Run a node that needs no wait and return where to go next; None once something waits."""
        node = self.flow.nodes[node_id]
        if isinstance(node, TimeCondition):
            return _time_branch(node, self.now, self.info.timezone)
        if isinstance(node, Branch):
            return node.then if _branch_holds(node, self.info, self.state) else node.otherwise
        if isinstance(node, SetRouting):
            skills = dict(self.state.skills) | node.skills
            variables = dict(self.state.variables) | node.variables
            self.state = replace(
                self.state,
                priority=self.state.priority if node.priority is None else node.priority,
                skills=tuple(sorted(skills.items())),
                variables=tuple(sorted(variables.items())),
            )
            return node.next
        if isinstance(node, ToQueue):
            self.finish(self._enter_queue(node.queue), c.IvrExit.QUEUE)
        elif isinstance(node, Transfer):
            self.finish(c.TransferTo(node.destination), c.IvrExit.TRANSFER)
        elif isinstance(node, Play | Menu | Collect | Language | Voicemail | RequestCallback | Hangup):
            if node.prompts:
                self.play(node.prompts)
            else:
                self._after_prompt()
        return None

    def _enter_queue(self, queue: str) -> c.EnterQueue:
        return c.EnterQueue(queue, self.state.priority, self.state.skills, self.state.variables, self.state.language)

    # -- events -----------------------------------------------------------------------------------

    def _after_prompt(self) -> None:
        """The current node's prompt has finished (or it had none)."""
        self.state = replace(self.state, playback=None)
        node = self.flow.nodes[self.state.node]
        if isinstance(node, Play):
            self.enter(node.next)
        elif isinstance(node, Menu | Collect | Language):
            self.start_timer(node.timeout_seconds)
        elif isinstance(node, Voicemail):
            recording = self.token("r")
            self.state = replace(self.state, phase=IvrPhase.RECORDING)
            self.out.append(c.Record(recording, node.max_seconds))
        elif isinstance(node, RequestCallback):
            self.out.append(c.CallbackRequest(node.queue, self.info.caller))
            self.finish(c.HangupCall(), c.IvrExit.CALLBACK)
        elif isinstance(node, Hangup):
            self.finish(c.HangupCall(), c.IvrExit.HANGUP)

    def on_dtmf(self, digit: str) -> None:
        node = self.flow.nodes[self.state.node]
        if self.state.phase not in (IvrPhase.PROMPT, IvrPhase.WAITING) or not isinstance(
            node, Menu | Collect | Language
        ):
            return  # digits during a plain announcement or a recording are not input
        self.stop_playback()
        self.cancel_timer()
        self.out.append(c.Note(c.IvrNote.INPUT, {"node": self.state.node, "digit": digit}))
        if isinstance(node, Menu):
            if digit in node.options:
                self.enter(node.options[digit])
            else:
                self._retry(node.invalid_prompt, node.prompts, node.retries, node.on_fail)
        elif isinstance(node, Language):
            if digit in node.options:
                self.state = replace(self.state, language=node.options[digit])
                self.enter(node.next)
            else:
                self.play(node.prompts)
        else:
            self._collect_digit(node, digit)

    def _collect_digit(self, node: Collect, digit: str) -> None:
        if node.terminator is not None and digit == node.terminator:
            self._collect_done(node)
            return
        digits = self.state.digits + digit
        self.state = replace(self.state, digits=digits)
        if len(digits) >= node.max_digits:
            self._collect_done(node)
        else:
            self.start_timer(node.timeout_seconds)

    def _collect_done(self, node: Collect) -> None:
        digits = self.state.digits
        valid = node.min_digits <= len(digits) <= node.max_digits and (
            node.pattern is None or re.fullmatch(node.pattern, digits) is not None
        )
        if valid:
            variables = dict(self.state.variables) | {node.variable: digits}
            self.state = replace(self.state, variables=tuple(sorted(variables.items())))
            self.enter(node.next)
        else:
            self.state = replace(self.state, digits="")
            self._retry(node.invalid_prompt, node.prompts, node.retries, node.on_fail)

    def _retry(self, notice: str | None, prompts: list[str], retries: int, on_fail: str) -> None:
        attempts = self.state.attempts + 1
        if attempts > retries:
            self.out.append(c.Note(c.IvrNote.FAILED, {"node": self.state.node, "attempts": attempts}))
            self.enter(on_fail)
            return
        self.state = replace(self.state, attempts=attempts, digits="")
        self.play([notice, *prompts] if notice else prompts)

    def on_timer(self) -> None:
        self.state = replace(self.state, timer=None)
        node = self.flow.nodes[self.state.node]
        if isinstance(node, Collect) and len(self.state.digits) >= node.min_digits:
            self._collect_done(node)
        elif isinstance(node, Menu):
            self._retry(node.timeout_prompt, node.prompts, node.retries, node.on_fail)
        elif isinstance(node, Collect):
            self._retry(node.invalid_prompt, node.prompts, node.retries, node.on_fail)
        elif isinstance(node, Language):
            self.enter(node.next)  # no choice: keep the default language


def start(flow: Flow, info: CallerInfo, now: datetime, *, at: str | None = None) -> tuple[IvrState, list[c.Command]]:
    """A call entering the flow; ``at``: a node other than the start (a queue's overflow hands the caller
    back to the IVR there, without a new Answer)."""
    node = flow.start if at is None else at
    if node not in flow.nodes:
        raise KeyError(f"no node {node!r} in the IVR of service {flow.service!r}")
    state = IvrState(node=node, language=flow.language or info.language)
    step = _Step(flow, info, now, state, [c.Answer()] if at is None else [])
    step.enter(node)
    return step.state, step.out


def handle(
    flow: Flow, info: CallerInfo, state: IvrState, event: IvrEvent, now: datetime
) -> tuple[IvrState, list[c.Command]]:
    if state.phase == IvrPhase.DONE:
        return state, []
    step = _Step(flow, info, now, state)
    if isinstance(event, CallerHungUp):
        step.cancel_timer()
        step.out.append(c.Note(c.IvrNote.EXIT, {"outcome": c.IvrExit.CALLER_HANGUP, "path": list(state.path)}))
        step.state = replace(step.state, phase=IvrPhase.DONE, outcome=c.IvrExit.CALLER_HANGUP, playback=None)
    elif isinstance(event, PlaybackDone):
        if event.playback_id == state.playback:
            step._after_prompt()
    elif isinstance(event, TimerFired):
        if event.token == state.timer:
            step.on_timer()
    elif isinstance(event, Dtmf):
        step.on_dtmf(event.digit)
    elif isinstance(event, RecordingDone):
        node = flow.nodes[state.node]
        if state.phase == IvrPhase.RECORDING and isinstance(node, Voicemail):
            step.out.append(c.VoicemailTicket(event.name, event.duration_seconds, info.caller))
            step.finish(c.HangupCall(), c.IvrExit.VOICEMAIL)
    return step.state, step.out


def _time_branch(node: TimeCondition, now: datetime, timezone: str) -> str:
    local = now.astimezone(ZoneInfo(timezone))
    if local.strftime("%Y-%m-%d") in node.holidays or local.strftime("%m-%d") in node.holidays:
        return node.holiday or node.closed
    hhmm = local.strftime("%H:%M")
    for span in node.hours.get(DAYS[local.weekday()], []):  # type: ignore[call-overload]
        begin, end = span.split("-")
        if begin <= hhmm < end:
            return node.open
    return node.closed


def _branch_holds(node: Branch, info: CallerInfo, state: IvrState) -> bool:
    if node.field.startswith("var."):
        actual: object = dict(state.variables).get(node.field[4:])
    else:
        actual = {
            "vip": info.vip,
            "known": info.known,
            "open_tickets": info.open_tickets,
            "caller": info.caller,
            "language": state.language,
        }[node.field]
    value = node.value
    if node.op == "is-true":
        return bool(actual)
    if node.op == "is-false":
        return not actual
    if node.op == "eq":
        return str(actual) == str(value)
    if node.op == "ne":
        return str(actual) != str(value)
    if node.op == "startswith":
        return str(actual).startswith(str(value))
    try:
        left, right = float(str(actual)), float(str(value))
    except ValueError:
        return False
    return left > right if node.op == "gt" else left < right
