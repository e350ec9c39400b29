"""The agent's recording codes, pure: ``*77`` starts an on-demand queue's recording, ``*78`` / ``*79`` pause and
resume one for payment data; the paused stretches, and the silence that takes their place in the file so the
recording keeps the call's length.

The agent keys ``*78`` to pause and ``*79`` to resume. Asterisk leaves the paused audio out of the file;
``fill_gaps`` puts back the same length of silence where it was, and the stretches are kept on the row.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

START_CODE, PAUSE_CODE, RESUME_CODE = "*77", "*78", "*79"
CODE_GAP_S = 3.0  # digits further apart than this start a new code


class RecordingAction(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"


CODES = {START_CODE: RecordingAction.START, PAUSE_CODE: RecordingAction.PAUSE, RESUME_CODE: RecordingAction.RESUME}


@dataclass
class FeatureCodes:
    """The last digits one channel keyed; ``feed`` says when they make a code."""

    digits: str = ""
    last_at: float = float("-inf")
    last_event: tuple[str, float] | None = None

    def feed(self, digit: str, now: float) -> RecordingAction | None:
        """``now``: when the digit was keyed; the same digit at the same moment again is one event delivered
        twice, and counts once."""
        if self.last_event == (digit, now):
            return None
        self.last_event = (digit, now)
        if now - self.last_at > CODE_GAP_S:
            self.digits = ""
        self.digits, self.last_at = (self.digits + digit)[-3:], now
        code = CODES.get(self.digits)
        if code is not None:
            self.digits = ""
        return code


@dataclass
class PauseLog:
    """One recording's paused stretches, in seconds from its start (call time, not file time)."""

    paused_at: float | None = None
    gaps: list[tuple[float, float]] = field(default_factory=list)

    def pause(self, offset: float) -> bool:
        """False when already paused (a second *78 changes nothing)."""
        if self.paused_at is not None:
            return False
        self.paused_at = offset
        return True

    def resume(self, offset: float) -> bool:
        if self.paused_at is None:
            return False
        self.gaps.append((self.paused_at, max(offset, self.paused_at)))
        self.paused_at = None
        return True

    def close(self, offset: float) -> tuple[tuple[float, float], ...]:
        """The stretches once the recording ended (one still paused ends with it)."""
        self.resume(offset)
        return tuple(self.gaps)


def fill_gaps(audio: bytes, gaps: Sequence[tuple[float, float]]) -> bytes:
    """The WAV ``audio`` with each paused stretch put back as silence of its length, at its place."""
    if not gaps:
        return audio
    with wave.open(io.BytesIO(audio)) as reader:
        params = reader.getparams()
        frames = reader.readframes(params.nframes)
    frame_bytes = params.sampwidth * params.nchannels
    silent_frame = (b"\x80" if params.sampwidth == 1 else b"\x00" * params.sampwidth) * params.nchannels
    pieces, taken, removed = [], 0, 0.0
    for start, end in sorted(gaps):
        at = min(round((start - removed) * params.framerate) * frame_bytes, len(frames))
        pieces += [frames[taken:at], silent_frame * round((end - start) * params.framerate)]
        taken, removed = max(at, taken), removed + (end - start)
    pieces.append(frames[taken:])
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setparams(params)
        writer.writeframes(b"".join(pieces))
    return out.getvalue()
