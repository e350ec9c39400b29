"""What a recording's bytes say about themselves: format and duration (WAV, the stdlib ``wave`` reader)."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AudioInfo:
    format: str
    duration_s: float


class NotAudio(ValueError):
    """The bytes are not a recording this repository can keep."""


def inspect(audio: bytes) -> AudioInfo:
    try:
        with wave.open(io.BytesIO(audio)) as reader:
            rate, frames = reader.getframerate(), reader.getnframes()
    except (wave.Error, EOFError) as exc:
        raise NotAudio(f"not a WAV file: {exc}") from None
    if rate <= 0:
        raise NotAudio("not a WAV file: sample rate 0")
    return AudioInfo("wav", frames / rate)
