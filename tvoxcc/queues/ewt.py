"""Estimated wait time for announcements: recent handle time, staffing and position."""

from __future__ import annotations


class HandleTimeAverage:
    """Exponential moving average of handle time (talk + wrap-up), seeded with a configured guess.

    An EWMA rather than a window: O(1) memory per queue and recent calls weigh more, which is what a
    caller hearing "about 3 minutes" cares about.
    """

    __slots__ = ("alpha", "samples", "value")

    def __init__(self, initial_s: float, alpha: float = 0.2) -> None:
        self.value = initial_s
        self.alpha = alpha
        self.samples = 0

    def add(self, handle_s: float) -> None:
        self.samples += 1
        # The first real sample replaces the guess instead of being diluted by it.
        self.value = handle_s if self.samples == 1 else self.value + self.alpha * (handle_s - self.value)


def expected_wait(position: int, handle_s: float, servers: int) -> float | None:
    """Seconds until ``position`` is served when ``servers`` parallel slots each take ``handle_s``.

    On average one slot frees every handle_s / servers seconds, and the item needs ``position`` of them.
    """
    if servers <= 0:
        return None
    return position * handle_s / servers
