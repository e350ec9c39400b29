"""The one backoff of every reconnect loop: growth to the cap, reset after a success, stop and cancel cut a wait."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tvoxcc.backoff import Backoff, Retries


class Sleeps:
    """Records each delay; a delay of ``forever`` or more never ends by itself."""

    def __init__(self, forever: float = float("inf")) -> None:
        self.delays: list[float] = []
        self.forever = forever
        self.cancelled = 0
        self.started = asyncio.Event()

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self.started.set()
        if delay < self.forever:
            return
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


async def test_delays_double_to_the_cap_and_restart_after_a_success() -> None:
    sleeps = Sleeps()
    retries = Retries(Backoff(initial=1.0, factor=2.0, cap=5.0), "test", sleep=sleeps, rng=lambda: 1.0)
    for _ in range(5):
        await retries.wait("down")
    retries.reset()
    await retries.wait("down again")
    assert sleeps.delays == [1.0, 2.0, 4.0, 5.0, 5.0, 1.0]  # no jitter asked: rng does not matter


def test_jitter_only_shortens() -> None:
    backoff = Backoff(initial=0.5, factor=2.0, cap=3.0, jitter=0.25)
    assert backoff.delay(10, 1.0) == pytest.approx(2.25)
    assert all(0.375 <= backoff.delay(0, r / 10) <= 0.5 for r in range(11))


async def test_stop_cuts_a_wait_short() -> None:
    sleeps = Sleeps(forever=60.0)
    retries = Retries(Backoff(initial=60.0, cap=60.0), "test", sleep=sleeps)
    stop = asyncio.Event()
    waiting = asyncio.create_task(retries.wait("down", stop))
    await asyncio.wait_for(sleeps.started.wait(), 10)
    assert not waiting.done()
    stop.set()
    assert await asyncio.wait_for(waiting, 10) == 60.0
    assert sleeps.cancelled == 1  # the sleep itself does not linger


async def test_cancelling_the_loop_cancels_its_wait() -> None:
    sleeps = Sleeps(forever=60.0)
    retries = Retries(Backoff(initial=60.0, cap=60.0), "test", sleep=sleeps)
    waiting = asyncio.create_task(retries.wait("down", asyncio.Event()))
    await asyncio.wait_for(sleeps.started.wait(), 10)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert sleeps.cancelled == 1


async def test_the_log_line_names_the_loop_and_reason(caplog: pytest.LogCaptureFixture) -> None:
    await Retries(Backoff(initial=0.25), "acme/support", sleep=Sleeps()).wait("ConnectionRefusedError: refused")
    assert "acme/support: ConnectionRefusedError: refused; retrying in 0.25s" in caplog.text


async def test_quiet_retries_warn_once_a_loss_and_say_once_when_back(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="tvoxcc.backoff")
    retries = Retries(Backoff(initial=1.0, cap=1.0), "LISTEN on x", sleep=Sleeps(), quiet=True)
    retries.reset()  # nothing lost yet: nothing said
    for reason in ("lost (connection closed)", "still down", "still down"):
        await retries.wait(reason)
    retries.reset()
    await retries.wait("lost again")
    retries.reset()
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, "LISTEN on x: lost (connection closed); retrying in 1.00s"),
        (logging.DEBUG, "LISTEN on x: still down; retrying in 1.00s"),
        (logging.DEBUG, "LISTEN on x: still down; retrying in 1.00s"),
        (logging.INFO, "LISTEN on x: back after 3 tries"),
        (logging.WARNING, "LISTEN on x: lost again; retrying in 1.00s"),
        (logging.INFO, "LISTEN on x: back after 1 try"),
    ]


async def test_retries_warn_at_every_wait_and_say_nothing_at_a_reset_unless_quiet(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="tvoxcc.backoff")
    retries = Retries(Backoff(initial=1.0, cap=1.0), "ARI events", sleep=Sleeps())
    await retries.wait("refused")
    await retries.wait("refused")
    retries.reset()
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, "ARI events: refused; retrying in 1.00s"),
        (logging.WARNING, "ARI events: refused; retrying in 1.00s"),
    ]
