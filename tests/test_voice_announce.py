"""Position and wait announcements for callers in a queue."""

from __future__ import annotations

from tvoxcc.queues.model import WaitEstimate
from tvoxcc.voice.announce import announcement


def test_next_in_line_without_an_estimate() -> None:
    assert announcement(WaitEstimate(1, None, 0, 180.0)) == ["sound:queue-youarenext"]


def test_position_and_minutes() -> None:
    assert announcement(WaitEstimate(4, 200.0, 2, 180.0)) == [
        "sound:queue-thereare",
        "number:3",
        "sound:queue-callswaiting",
        "sound:queue-holdtime",
        "number:3",
        "sound:queue-minutes",
    ]


def test_less_than_a_minute() -> None:
    assert announcement(WaitEstimate(2, 20.0, 3, 60.0))[-4:] == [
        "sound:queue-holdtime",
        "sound:queue-less-than",
        "number:1",
        "sound:queue-minutes",
    ]
