"""Pause/resume for payment data, pure: the agent's codes, the paused stretches, silence put back (sox checks)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.recording_files import make_wav, soxi_seconds
from tvoxcc.recordings.pause import FeatureCodes, PauseLog, RecordingAction, fill_gaps


def test_codes_need_their_digits_close_together() -> None:
    codes = FeatureCodes()
    assert [codes.feed(d, t) for d, t in (("*", 0.0), ("7", 0.3), ("8", 0.6))] == [None, None, RecordingAction.PAUSE]
    assert [codes.feed(d, t) for d, t in (("*", 1.0), ("7", 1.3), ("9", 1.6))] == [None, None, RecordingAction.RESUME]
    assert [codes.feed(d, t) for d, t in (("*", 2.0), ("7", 2.3), ("8", 9.0))] == [None, None, None]  # too slow
    assert [codes.feed(d, t) for d, t in (("5", 10.0), ("*", 10.2), ("7", 10.4), ("8", 10.6))][
        -1
    ] is RecordingAction.PAUSE


def test_an_event_delivered_twice_counts_once() -> None:
    codes = FeatureCodes()
    keyed = [("*", 0.0), ("*", 0.0), ("7", 0.3), ("7", 0.3), ("8", 0.6), ("8", 0.6)]
    assert [codes.feed(d, t) for d, t in keyed] == [None, None, None, None, RecordingAction.PAUSE, None]
    assert [codes.feed(d, t) for d, t in (("*", 1.0), ("*", 1.2))] == [None, None]  # two presses: both count
    assert codes.digits == "**"


def test_the_log_keeps_stretches_and_closes_an_open_one() -> None:
    log = PauseLog()
    assert log.pause(2.0) and not log.pause(2.5)  # a second *78 changes nothing
    assert log.resume(4.0) and not log.resume(4.5)
    assert log.pause(7.0)
    assert log.close(9.5) == ((2.0, 4.0), (7.0, 9.5))


def _peak(path: Path, start: float, length: float) -> float:
    done = subprocess.run(
        ["sox", str(path), "-n", "trim", str(start), str(length), "stat"], capture_output=True, text=True, check=True
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("Maximum amplitude"))
    return float(line.split(":")[1])


def test_paused_stretches_come_back_as_silence_of_their_length(tmp_path: Path) -> None:
    # Asterisk left 2.0 s (1.5-3.5 of the call) and 1.0 s (5.0-6.0) out: the file holds 4.0 s of the 7.0 s call.
    recorded = make_wav(tmp_path / "recorded.wav", 4.0)
    filled = tmp_path / "filled.wav"
    filled.write_bytes(fill_gaps(recorded.read_bytes(), [(1.5, 3.5), (5.0, 6.0)]))
    assert soxi_seconds(filled) == pytest.approx(7.0, abs=0.001)
    assert _peak(filled, 1.5, 2.0) == 0.0 and _peak(filled, 5.0, 1.0) == 0.0
    assert _peak(filled, 0.1, 1.3) > 0.5 and _peak(filled, 3.6, 1.3) > 0.5 and _peak(filled, 6.1, 0.8) > 0.5
    assert fill_gaps(recorded.read_bytes(), []) == recorded.read_bytes()
