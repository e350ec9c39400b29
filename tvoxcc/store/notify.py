"""Wake on PostgreSQL NOTIFY, else on a timer: the one waiting primitive of pollers of the store.

``Wake.open(store, channel)`` LISTENs on its own asyncpg connection when the store is PostgreSQL; ``wait``
returns when a NOTIFY arrived or ``seconds`` passed, so a poller reads at once on PostgreSQL and every
``seconds`` on SQLite (or when the listening connection could not be made: polling stays the fallback).
``handlers`` LISTEN on more channels over the same connection (one a process), each NOTIFY's payload handed
to its channel's handler (tvoxcc.chat.fanout: the chats a `web run` shares with the others).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.store.engine import Store

log = logging.getLogger(__name__)


def asyncpg_dsn(url: URL) -> str:
    """The URL as asyncpg.connect takes it. SQLAlchemy's multi-host form (``?host=a:5432&host=b:5432``, a
    primary and its standby) becomes libpq's host list (``a:5432,b:5432``): asyncpg would keep only the last
    of repeated query parameters, and LISTEN on a standby fails."""
    hosts = url.query.get("host")
    if not hosts:
        return url.set(drivername="postgresql").render_as_string(False)
    rest = {key: value for key, value in url.query.items() if key != "host"}
    auth = ""
    if url.username:
        auth = quote(url.username, safe="") + (f":{quote(url.password, safe='')}" if url.password else "") + "@"
    listed = ",".join((hosts,) if isinstance(hosts, str) else hosts)
    query = urlencode(rest, doseq=True)
    return f"postgresql://{auth}{listed}/{quote(url.database or '')}" + (f"?{query}" if query else "")


class Wake:
    def __init__(self) -> None:
        self.event = asyncio.Event()
        self._conn: Any = None  # the asyncpg connection that LISTENs

    @classmethod
    async def open(
        cls, store: Store, channel: str, handlers: Mapping[str, Callable[[str], None]] | None = None
    ) -> Wake:
        wake = cls()
        url = store.engine.url
        if url.get_backend_name() != "postgresql":
            return wake
        import asyncpg  # type: ignore[import-untyped]

        try:
            wake._conn = await asyncpg.connect(asyncpg_dsn(url))
            await wake._conn.add_listener(channel, lambda *_: wake.event.set())
            for other, handler in (handlers or {}).items():
                await wake._conn.add_listener(other, _payload_to(handler))
        except Exception as exc:
            log.warning("cannot LISTEN on %s (%s): polling only", channel, type(exc).__name__)
        return wake

    @property
    def listening(self) -> bool:
        """True when NOTIFYs wake it (PostgreSQL, connection made); else it only waits out its time."""
        return self._conn is not None

    def set(self) -> None:
        """Wake the waiter now (a stop, a change made in this process)."""
        self.event.set()

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), seconds)
        self.event.clear()

    async def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None


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
