"""Engines and sessions: SQLite (aiosqlite) by default, PostgreSQL (asyncpg) in production."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from tvoxcc.store.tenancy import scope_to_tenant


def async_url(url: str) -> URL:
    """Map the URLs admins write (sqlite:///…, postgresql://…) to our async drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; WAL lets the services read while the CLI writes.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


# How long the PostgreSQL server keeps a session whose client went silent (its host's network cut, powered off):
# without it a cut client's half-done transaction keeps its row locks for the kernel's two-hour keepalive.
DEAD_PEER_S = 10.0


def dead_peer_settings(silent_s: float) -> dict[str, int]:
    """A PostgreSQL session's settings that make the server drop it once the client has been silent for about
    ``silent_s``: keepalive probes from half of it on, one a second, and tcp_user_timeout for data unacknowledged.
    Every user may set them for their own session."""
    whole = max(2, math.ceil(silent_s))
    idle = max(1, whole // 2)
    return {
        "tcp_keepalives_idle": idle,
        "tcp_keepalives_interval": 1,
        "tcp_keepalives_count": max(1, whole - idle),
        "tcp_user_timeout": whole * 1000,
    }


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    target = async_url(url)
    if target.get_backend_name() == "sqlite" and target.database not in (None, "", ":memory:"):
        Path(target.database).parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {}
    if target.get_backend_name() == "sqlite" and target.database not in (None, "", ":memory:"):
        # Each SQLite connection is a thread of aiosqlite's: one opened past the pool's size is closed again
        # when given back, so a busy voice service (many calls reading at once) would start and stop a
        # thread, open the file and set the pragmas again and again. Keep enough of them open.
        options = {"pool_size": 20, "max_overflow": 20}
    if target.get_backend_name() == "postgresql":
        server = {name: str(value) for name, value in dead_peer_settings(DEAD_PEER_S).items()}
        options = {"connect_args": {"server_settings": server}}
    engine = create_async_engine(target, echo=echo, **options)
    if target.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
    return engine


class Store:
    """The shared SQL store. ``session()`` sees everything (admin work); ``tenant(id)`` sees one tenant."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.extras: dict[str, Any] = {}  # helpers kept per store (tvoxcc.store.peek's reader), closed with it
        self._closers: list[Callable[[], Awaitable[None]]] = []

    @classmethod
    def from_url(cls, url: str, *, echo: bool = False) -> Store:
        return cls(make_engine(url, echo=echo))

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def tenant(self, tenant_id: int) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            scope_to_tenant(session, tenant_id)
            yield session

    def on_dispose(self, close: Callable[[], Awaitable[None]]) -> None:
        self._closers.append(close)

    async def dispose(self) -> None:
        closers, self._closers = self._closers, []
        self.extras.clear()
        for close in closers:
            await close()
        await self.engine.dispose()
