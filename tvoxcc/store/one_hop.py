"""A writer's transaction in one hop to the database's thread, not one per statement.

On SQLite every statement of the async engine is a hop to aiosqlite's thread and back (a wake-up of the event
loop each time), and SQLAlchemy's async layer wraps each in a greenlet switch: for the voice service's
writers (the recorder's batches, the wallboard's snapshots: a begin, a few statements, a commit) the hops cost
more CPU than the statements. ``OneHop.run(work, *args)`` runs ``work(connection, *args)``, a plain function
on a synchronous Core connection, inside one transaction: on a SQLite file in a thread of the writer's own,
with a synchronous engine on the same file (the same pragmas as tvoxcc.store.engine), one hop for the whole
transaction; on any other database (PostgreSQL: each statement is a network round trip anyway) through
``AsyncConnection.run_sync`` on the store's engine. Either way the same statements, types and values.

``read(work, *args)`` is for a short read a call waits for (the caller lookup): on a SQLite file it runs at once
in the event loop's thread, on a connection that never waits for a lock (``busy_timeout`` 0; in WAL mode a
reader does not wait for writers anyway): no hop at all, ~0.1 ms. When SQLite answers "busy" all the same (a
checkpoint that must not be waited for in the loop), the read goes through ``run`` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError

from tvoxcc.store.engine import Store, sqlite_pragmas

P = ParamSpec("P")
T = TypeVar("T")


class OneHop:
    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.name = name  # the thread's name (a profile tells the writers apart)
        url = store.engine.url
        self._sqlite_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
        self._engine: Engine | None = None
        self._conn: Connection | None = None  # the thread's own, kept open (no pool checkout a transaction)
        self._pool: ThreadPoolExecutor | None = None
        self._reader: Connection | None = None  # the event loop thread's own, for ``read``

    async def read(self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``work`` reads only: at once on SQLite (never waiting for a lock), else as ``run``."""
        if self._sqlite_file:
            try:
                reader = self._reader if self._reader is not None else self._open_reader()
                with reader.begin():
                    return work(reader, *args, **kwargs)
            except OperationalError as exc:
                broken, self._reader = self._reader, None
                if broken is not None:
                    broken.close()
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
        return await self.run(work, *args, **kwargs)

    def _open_reader(self) -> Connection:
        self._reader = reader = self._engine_of().connect()
        reader.exec_driver_sql("PRAGMA busy_timeout=0")  # the event loop never waits for SQLite's locks
        reader.commit()  # (the pragma began SQLAlchemy's transaction)
        return reader

    async def run(self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``work(connection, *args, **kwargs)`` in one transaction, committed when it returns."""
        if not self._sqlite_file:
            async with self.store.engine.begin() as conn:
                return await conn.run_sync(work, *args, **kwargs)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix=self.name)
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._transaction, work, args, kwargs)

    def _transaction(self, work: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        conn = self._conn if self._conn is not None else self._connect()
        try:
            with conn.begin():
                return work(conn, *args, **kwargs)
        except BaseException:
            self._conn = None  # in an unknown state: a fresh one for the next transaction
            conn.close()
            raise

    def _connect(self) -> Connection:
        self._conn = self._engine_of().connect()
        return self._conn

    def _engine_of(self) -> Engine:
        if self._engine is None:
            url = self.store.engine.url.set(drivername="sqlite+pysqlite")
            # the thread's connection and the event loop's reader, each kept open
            # (a connection given back after an error may be handed to the other thread: each is used by one at a time)
            self._engine = create_engine(url, pool_size=2, max_overflow=0, connect_args={"check_same_thread": False})
            event.listen(self._engine, "connect", sqlite_pragmas)
        return self._engine

    def _dispose_of(self, engine: Engine) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        engine.dispose()

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()
        pool, self._pool = self._pool, None
        engine, self._engine = self._engine, None
        if pool is not None:
            if engine is not None:
                await asyncio.get_running_loop().run_in_executor(pool, self._dispose_of, engine)
            pool.shutdown(wait=False)
        elif engine is not None:
            engine.dispose()
