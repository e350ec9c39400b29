"""What the IVR interpreter asks the voice adapter to do. Plain values; the adapter owns the I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class IvrNote(StrEnum):
    """The kinds of ``Note``: stored as interaction events (tvoxcc.interactions lists the other kinds)."""

    NODE = "ivr-node"  # a node entered
    INPUT = "ivr-input"  # a digit taken
    FAILED = "ivr-failed"  # no valid input after the node's attempts
    EXIT = "ivr-exit"  # the IVR is done with the call, with its ``IvrExit``


class IvrExit(StrEnum):
    """How the IVR let go of a call. Every exit but ``QUEUE`` (the queue takes over) and ``CALLER_HANGUP`` (stored
    as ``abandoned-in-ivr``) becomes the interaction's outcome as it is (tvoxcc.interactions.Outcome)."""

    QUEUE = "queue"
    TRANSFER = "transfer"
    CALLBACK = "callback"
    VOICEMAIL = "voicemail"
    HANGUP = "hangup"
    LOOP_GUARD = "loop-guard"  # too many passive nodes in a row: a loop in the flow
    CALLER_HANGUP = "caller-hangup"


@dataclass(frozen=True)
class Answer:
    pass


@dataclass(frozen=True)
class Play:
    playback_id: str
    prompts: tuple[str, ...]
    language: str


@dataclass(frozen=True)
class StopPlayback:
    playback_id: str


@dataclass(frozen=True)
class StartTimer:
    token: str
    seconds: float


@dataclass(frozen=True)
class CancelTimer:
    token: str


@dataclass(frozen=True)
class Record:
    name: str
    max_seconds: int


@dataclass(frozen=True)
class EnterQueue:
    queue: str
    priority: int
    skills: tuple[tuple[str, int], ...]
    variables: tuple[tuple[str, str], ...]
    language: str


@dataclass(frozen=True)
class TransferTo:
    destination: str


@dataclass(frozen=True)
class VoicemailTicket:
    recording: str
    duration_seconds: float
    caller: str


@dataclass(frozen=True)
class CallbackRequest:
    queue: str
    number: str


@dataclass(frozen=True)
class HangupCall:
    pass


@dataclass(frozen=True)
class Note:
    """An interaction event to store (node entered, input, exit) for the journey and statistics."""

    kind: IvrNote
    data: dict[str, Any]


Command = (
    Answer
    | Play
    | StopPlayback
    | StartTimer
    | CancelTimer
    | Record
    | EnterQueue
    | TransferTo
    | VoicemailTicket
    | CallbackRequest
    | HangupCall
    | Note
)
