"""Wake on PostgreSQL NOTIFY, else on a timer: the one waiting primitive of pollers of the store.

``Wake.open(store, channel)`` LISTENs on its own asyncpg connection when the store is PostgreSQL; ``wait``
returns when a NOTIFY arrived or ``seconds`` passed, so a poller reads at once on PostgreSQL and every
``seconds`` on SQLite (or while the listening connection is down: polling stays the fallback).
``handlers`` LISTEN on more channels over the same connection (one a process), each NOTIFY's payload handed
to its channel's handler (tvoxcc.chat.fanout: the chats a `web run` shares with the others).
The connection is made again after a loss (tvoxcc.store.listening); NOTIFYs sent meanwhile are gone, so the
waiter is woken and ``on_reconnect`` called once it listens again: readers catch up from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.store.engine import Store
from tvoxcc.store.listening import CHECK_EVERY_S, Listening, asyncpg_dsn

log = logging.getLogger(__name__)


class Wake:
    def __init__(self) -> None:
        self.event = asyncio.Event()
        self._listening: Listening | None = None

    @classmethod
    async def open(
        cls,
        store: Store,
        channel: str,
        handlers: Mapping[str, Callable[[str], None]] | None = None,
        on_reconnect: Callable[[], None] | None = None,
        *,
        check_every_s: float = CHECK_EVERY_S,
    ) -> Wake:
        """``on_reconnect``: called after the listening connection was lost and made again (NOTIFYs missed)."""
        wake = cls()
        url = store.engine.url
        if url.get_backend_name() != "postgresql":
            return wake
        channels: dict[str, Callable[..., None]] = {channel: lambda *_: wake.event.set()}
        channels.update((other, _payload_to(handler)) for other, handler in (handlers or {}).items())

        def back() -> None:
            wake.event.set()  # the poller reads now what the missed NOTIFYs announced
            if on_reconnect is not None:
                on_reconnect()

        wake._listening = Listening(asyncpg_dsn(url), channels, channel, back, check_every_s)
        await wake._listening.start()
        return wake

    @property
    def listening(self) -> bool:
        """True while NOTIFYs wake it (PostgreSQL, connection up); else it only waits out its time."""
        return self._listening is not None and self._listening.connected

    def set(self) -> None:
        """Wake the waiter now (a stop, a change made in this process)."""
        self.event.set()

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), seconds)
        self.event.clear()

    async def close(self) -> None:
        """Stop listening and reconnecting."""
        if self._listening is not None:
            await self._listening.close()
            self._listening = None


def _payload_to(handler: Callable[[str], None]) -> Callable[..., None]:
    def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            handler(payload)
        except Exception as exc:  # one bad payload must not stop the listening connection
            log.warning("NOTIFY handler failed: %s: %s", type(exc).__name__, exc)

    return on_notify


async def notify(session: AsyncSession, channel: str, payload: str = "") -> None:
    """NOTIFY ``channel`` with the session's commit (PostgreSQL); nothing on SQLite, whose readers poll."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload})
