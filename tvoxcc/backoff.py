"""Exponential backoff with jitter: the one mechanism behind every reconnect and retry loop.

Used by the ARI events websocket, the IMAP ingest loop, the agent phones' subscriptions and the LISTEN connection
(``Retries``) and the outbox (``Backoff.delay``: a mail's next try is stored, so its schedule survives a restart).

Why not tenacity: its attempt count lives inside one retry call, while our loops restart the count after a
connection that worked and go on (the ARI loop even yields events between tries), so each loop would need a
new retrying object per connection plus an offset; and its jitter adds to a delay and draws from the global
``random``, where ours only shortens one (``cap`` is a true upper bound) and tests pin it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry ``n`` (0-based): ``initial * factor**n`` capped, minus up to ``jitter`` of it.

    Jitter spreads the reconnects of many clients after a server restart; it only shortens a delay.
    """

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    jitter: float = 0.0

    def delay(self, attempt: int, rnd: float = 0.0) -> float:
        base = min(self.cap, self.initial * self.factor ** min(attempt, 64))
        return base * (1.0 - self.jitter * rnd)


class Retries:
    """The retry count of one loop: ``await wait(reason)`` before the next try, ``reset()`` once a try worked.

    Every wait is a warning. ``quiet``, for a loop that goes on retrying as long as a server is down while the
    process works on without it (the LISTEN connection: its readers poll meanwhile): the first wait of a loss
    only, the next ones at debug, and ``reset`` after them says once, at info, that it is back and after how
    many tries.
    """

    def __init__(
        self,
        backoff: Backoff,
        name: str,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        quiet: bool = False,
    ) -> None:
        self.backoff = backoff
        self.name = name  # says which loop in the log line
        self.attempt = 0
        self.quiet = quiet
        self._sleep = sleep
        self._rng = rng

    def reset(self) -> None:
        if self.quiet and self.attempt:
            log.info("%s: back after %d %s", self.name, self.attempt, "try" if self.attempt == 1 else "tries")
        self.attempt = 0

    async def wait(self, reason: str, stop: asyncio.Event | None = None) -> float:
        """Log and sleep the next delay; return early once ``stop`` is set. ``reason`` must hold no secret."""
        delay = self.backoff.delay(self.attempt, self._rng())
        level = logging.DEBUG if self.quiet and self.attempt else logging.WARNING
        self.attempt += 1
        log.log(level, "%s: %s; retrying in %.2fs", self.name, reason, delay)
        if stop is None:
            await self._sleep(delay)
            return delay
        sleeping = asyncio.ensure_future(self._sleep(delay))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait([sleeping, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:  # also when the loop itself is cancelled (shutdown)
            sleeping.cancel()
            stopping.cancel()
        return delay
