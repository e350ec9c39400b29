"""Overload: past the rate the service can serve, new calls are shed cleanly instead of all calls collapsing.

The voice service is one event loop. When calls arrive faster than it can serve them, its loop falls
behind (a timer due now runs late) and work piles up in the lanes; carried on, every call would wait,
Asterisk's queue for our app would grow until it drops the websocket, and every caller would hear the
fallback. So while the loop is ``max_lag`` late or ``max_backlog`` pieces of work wait, a NEW call is sent
to the dialplan's busy message at once (one ARI request) and counted as ``shed``; the calls already taken
keep their pace, and the websocket stays up.

``LagMeter.sample`` is pure (times in, state out); ``run`` is the thin timer around it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LagMeter:
    period: float = 0.05  # how often the loop is asked to wake up
    max_lag: float = 0.25  # late by more than this (smoothed): overloaded
    max_backlog: int = 2000
    smoothing: float = 0.3  # weight of the newest sample in the moving average
    lag: float = 0.0  # smoothed lateness, seconds
    shed: int = 0  # calls shed since start
    backlog: Callable[[], int] = field(default=lambda: 0)

    def sample(self, expected: float, woke: float) -> None:
        late = max(0.0, woke - expected)
        self.lag = self.smoothing * late + (1 - self.smoothing) * self.lag

    @property
    def overloaded(self) -> bool:
        return self.lag > self.max_lag or self.backlog() > self.max_backlog

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + self.period
            await asyncio.sleep(self.period)
            self.sample(expected, loop.time())
