"""Fresh stores for bench/mail.py, and the floor's bare-driver writes of the rows an ingest stored.

Each store kind keeps a migrated template with tenant 'bench' and its mail service 'support', so a
fresh store per run costs a file copy (SQLite) or a ``CREATE DATABASE … TEMPLATE`` (PostgreSQL), not
a migration.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import asyncpg  # type: ignore[import-untyped]

from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import upgrade

# What an ingest writes, parents first (the order the foreign keys need); tenants and services are set up before.
WRITTEN = (
    "contacts",
    "contact_emails",
    "tickets",
    "ticket_events",
    "interactions",
    "interaction_events",
    "ticket_messages",
    "attachments",
    "outbox_mails",
    "mail_rejections",
    "mailbox_states",
)


@dataclass(frozen=True)
class Rows:
    """Every row an ingest wrote, as the driver reads it back: table -> (column names, rows)."""

    tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]]

    def counts(self) -> dict[str, int]:
        return {table: len(rows) for table, (_, rows) in self.tables.items()}

    def total(self) -> int:
        return sum(self.counts().values())


class Stores(Protocol):
    name: str
    driver: str  # how the floor writes the rows

    def fresh(self) -> str: ...  # the URL of a new store with only the template's rows

    def rows(self, url: str) -> Rows: ...

    def drop(self, url: str) -> None: ...

    def floor_insert(self, rows: Rows) -> tuple[float, float]: ...  # (wall, CPU) s to write them into a fresh store


async def _seed(url: str) -> None:
    store = Store.from_url(url)
    try:
        async with store.session() as session:
            tenant = m.Tenant(name="bench")
            session.add(tenant)
            await session.flush()
            session.add(m.Service(tenant_id=tenant.id, name="support", channels=["mail"]))
            await session.commit()
    finally:
        await store.dispose()


class SqliteStores:
    name = "sqlite"
    driver = "sqlite3 executemany"

    def __init__(self, workdir: Path) -> None:
        self.workdir, self.template, self.made = workdir, workdir / "template.db", 0

    def __enter__(self) -> SqliteStores:
        url = f"sqlite:///{self.template}"
        upgrade(url)
        asyncio.run(_seed(url))
        return self

    def __exit__(self, *_: object) -> None:
        pass  # the files live in the caller's temporary folder

    def fresh(self) -> str:
        self.made += 1
        path = self.workdir / f"run{self.made}.db"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    @staticmethod
    def _path(url: str) -> Path:
        return Path(url.removeprefix("sqlite:///"))

    def rows(self, url: str) -> Rows:
        with contextlib.closing(sqlite3.connect(self._path(url))) as read:
            tables = {}
            for table in WRITTEN:
                cursor = read.execute(f"SELECT * FROM {table}")
                tables[table] = ([d[0] for d in cursor.description], cursor.fetchall())
        return Rows(tables)

    def drop(self, url: str) -> None:
        path = self._path(url)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def floor_insert(self, rows: Rows) -> tuple[float, float]:
        """One executemany per table in one transaction, foreign keys on and WAL, as the store runs SQLite."""
        url = self.fresh()
        write = sqlite3.connect(self._path(url), isolation_level=None)
        try:
            write.execute("PRAGMA foreign_keys=ON")
            write.execute("PRAGMA journal_mode=WAL")
            started = time.perf_counter(), time.process_time()
            write.execute("BEGIN")
            for table, (columns, values) in rows.tables.items():
                if values:
                    marks, names = ",".join("?" * len(columns)), ",".join(f'"{c}"' for c in columns)
                    write.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", values)
            write.execute("COMMIT")
            return time.perf_counter() - started[0], time.process_time() - started[1]
        finally:
            write.close()
            self.drop(url)


class PostgresStores:
    name = "postgresql"
    driver = "asyncpg copy_records_to_table"

    def __init__(self, url_of: Callable[[str], str]) -> None:
        self.url_of, self.made = url_of, 0

    async def _admin(self, sql: str) -> None:
        connection = await asyncpg.connect(self.url_of("postgres"))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    def setup(self) -> None:
        asyncio.run(self._admin("CREATE DATABASE bench_template"))
        upgrade(self.url_of("bench_template"))
        asyncio.run(_seed(self.url_of("bench_template")))

    def fresh(self) -> str:
        self.made += 1
        asyncio.run(self._admin(f"CREATE DATABASE run{self.made} TEMPLATE bench_template"))
        return self.url_of(f"run{self.made}")

    def rows(self, url: str) -> Rows:
        async def read() -> Rows:
            connection = await asyncpg.connect(url)
            try:
                tables = {}
                for table in WRITTEN:
                    statement = await connection.prepare(f"SELECT * FROM {table}")
                    columns = [a.name for a in statement.get_attributes()]
                    tables[table] = (columns, [tuple(r) for r in await statement.fetch()])
                return Rows(tables)
            finally:
                await connection.close()

        return asyncio.run(read())

    def drop(self, url: str) -> None:
        asyncio.run(self._admin(f"DROP DATABASE {url.rsplit('/', 1)[1]} WITH (FORCE)"))

    def floor_insert(self, rows: Rows) -> tuple[float, float]:
        """One COPY per table in one transaction (connected before the clock starts, like the ingest's pool)."""
        url = self.fresh()

        async def write() -> tuple[float, float]:
            connection = await asyncpg.connect(url)
            try:
                started = time.perf_counter(), time.process_time()
                async with connection.transaction():
                    for table, (columns, values) in rows.tables.items():
                        if values:
                            await connection.copy_records_to_table(table, records=values, columns=columns)
                return time.perf_counter() - started[0], time.process_time() - started[1]
            finally:
                await connection.close()

        try:
            return asyncio.run(write())
        finally:
            self.drop(url)


class _Running:
    """PostgresStores on a private server (tests/servers/postgres.py), stopped on exit."""

    def __init__(self) -> None:
        from tests.servers.postgres import start_postgres

        self.server = start_postgres()

    def __enter__(self) -> PostgresStores:
        try:
            stores = PostgresStores(self.server.url)
            stores.setup()
            return stores
        except BaseException:
            self.server.stop()
            raise

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.server.stop()


def postgres_stores() -> _Running:
    return _Running()
