"""What the voice adapter tells the IVR interpreter."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlaybackDone:
    playback_id: str


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class TimerFired:
    token: str


@dataclass(frozen=True)
class RecordingDone:
    name: str
    duration_seconds: float


@dataclass(frozen=True)
class CallerHungUp:
    pass


IvrEvent = PlaybackDone | Dtmf | TimerFired | RecordingDone | CallerHungUp
