"""What the IVR interpreter asks the voice adapter to do. Plain values; the adapter owns the I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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

    kind: str
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
