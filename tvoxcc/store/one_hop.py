"""A writer's transaction in one hop to the database's thread, not one per statement.

On SQLite every statement of the async engine is a hop to aiosqlite's thread and back (a wake-up of the event
loop each time), and SQLAlchemy's async layer wraps each in a greenlet switch: for the voice service's
writers (the recorder's batches, the wallboard's snapshots: a begin, a few statements, a commit) the hops cost
more CPU than the statements. ``OneHop.run(work, *args)`` runs ``work(connection, *args)``, a plain function
on a synchronous Core connection, inside one transaction: on a SQLite file in a thread of the writer's own,
with a synchronous engine on the same file (the same pragmas as tvoxcc.store.engine), one hop for the whole
transaction; on any other database (PostgreSQL: each statement is a network round trip anyway) through
``AsyncConnection.run_sync`` on the store's engine. Either way the same statements, types and values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event

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
        if self._engine is None:
            url = self.store.engine.url.set(drivername="sqlite+pysqlite")
            self._engine = create_engine(url, pool_size=1, max_overflow=0)  # this thread's own connection
            event.listen(self._engine, "connect", sqlite_pragmas)
        self._conn = self._engine.connect()
        return self._conn

    def _dispose_of(self, engine: Engine) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        engine.dispose()

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        engine, self._engine = self._engine, None
        if pool is not None:
            if engine is not None:
                await asyncio.get_running_loop().run_in_executor(pool, self._dispose_of, engine)
            pool.shutdown(wait=False)
