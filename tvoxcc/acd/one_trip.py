"""A batch of the ACD's decision rows in one round trip to the database, on a connection kept for the writer.

Every offer waits for its batch's commit (an offer is released only once its rows are committed), and each
round trip of that commit also waits for the event loop, busy routing meanwhile: written as separate
statements (begin, fence, deletes, an upsert per table, inputs, commands, notify, commit) a batch took ~9.

- PostgreSQL: one statement, in autocommit (a single statement is its own transaction, committed as durably
  as any). Its data-modifying CTEs write each table from one JSON document of its rows (``json_to_recordset``),
  every one guarded by the lease fence's own CTE: when the fence matches no row nothing is written and the
  writer raises LeaseLost. Prepared once per connection.
- SQLite: the same statements as the session path, run with their commit in the writer's own thread and
  connection: one hop to that thread instead of one per statement.

The values are those the session path writes (tvoxcc.acd.writer.write_changes, still used on start and with
transports this module does not know): JSON as the JSON type serializes it, times through the column type's
own bind processor, so every reader sees the same rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Protocol, cast

from sqlalchemy import JSON, String, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from tvoxcc.acd.commands import Command
from tvoxcc.acd.lease import Fence
from tvoxcc.acd.rows import Changes, Row, command_row
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.models.acd import NOTIFY_CHANNEL
from tvoxcc.store.types import utcnow

STAMPS = ("updated_at", "created_at")  # set to the batch's time, not given by the row


@dataclass(frozen=True, slots=True)
class _Table:
    """A table the batch writes: the columns a row gives (in order), which of them are JSON, its stamp."""

    name: str
    key: str
    columns: tuple[str, ...]
    stamp: str
    pg_types: tuple[str, ...]  # each column's type in the JSON record (json_to_recordset)
    # A row's values in ``columns`` order, taken in C (a generator over the columns cost ~4 % of the voice
    # service's loop at 40 calls/s), and where the JSON ones are in it.
    values: Callable[[Row], tuple[Any, ...]]
    json_at: tuple[int, ...]

    @classmethod
    def of(cls, model: Any, key: str) -> _Table:
        table: Table = model.__table__
        given = [c for c in table.columns if c.name not in STAMPS and not (c.primary_key and c.autoincrement is True)]
        stamp = next(c.name for c in table.columns if c.name in STAMPS)
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        return cls(
            table.name,
            key,
            tuple(c.name for c in given),
            stamp,
            tuple(_pg_element(c.type, dialect) for c in given),
            _getter(tuple(c.name for c in given)),
            tuple(i for i, c in enumerate(given) if isinstance(c.type, JSON)),
        )

    def tuples(self, rows: Sequence[Row], stamp: Any) -> list[tuple[Any, ...]]:
        values, json_at = self.values, self.json_at
        if not json_at:
            return [(*values(row), stamp) for row in rows]
        dumps, out = json.dumps, []
        for row in rows:
            taken = list(values(row))
            for at in json_at:
                taken[at] = dumps(taken[at])
            taken.append(stamp)
            out.append(tuple(taken))
        return out


def _getter(columns: tuple[str, ...]) -> Callable[[Row], tuple[Any, ...]]:
    if len(columns) == 1:  # itemgetter of one key gives the value, not a tuple
        (only,) = columns
        return lambda row: (row[only],)
    return cast(Callable[[Row], tuple[Any, ...]], itemgetter(*columns))


def _pg_element(type_: Any, dialect: Any) -> str:
    if isinstance(type_, JSON):
        return "json"
    if isinstance(type_, String):
        return "text"  # the column's own length check applies on assignment (a cast would truncate)
    return str(type_.compile(dialect=dialect))


ITEMS = _Table.of(m.AcdItem, "item_id")
AGENTS = _Table.of(m.AcdAgent, "agent_id")
QUEUES = _Table.of(m.AcdQueue, "name")
COMMANDS = _Table.of(m.AcdCommand, "seq")


class OneTrip(Protocol):
    async def write(self, changes: Changes, fence: Fence, commands: Sequence[Command]) -> bool:
        """Write the batch (``commands``: as acd_commands rows) and commit; False: the fence matched no row,
        nothing was written."""
        ...

    async def close(self) -> None: ...


def one_trip(store: Store) -> OneTrip | None:
    """The one-round-trip writer for the store's backend; None where it has none (an in-memory SQLite)."""
    url = store.engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresTrip(store)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not database.startswith("file:"):
        return SqliteTrip(store, database)
    return None


# -- PostgreSQL ---------------------------------------------------------------------------------------------


class _Numbered:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, cast: str) -> str:
        self.count += 1
        return f"${self.count}::{cast}"


_GUARD = "EXISTS (SELECT 1 FROM fence)"


def _q(name: str) -> str:
    return f'"{name}"'


def _pg_insert(table: _Table, p: _Numbered, now: str, *, ordered: bool = False) -> str:
    names = ", ".join(map(_q, table.columns))
    record = ", ".join(f"{_q(c)} {t}" for c, t in zip(table.columns, table.pg_types, strict=True))
    rows = p("json")
    source = f"json_to_recordset({rows}) AS r({record})"
    if ordered:  # a record type and its ordinality: ROWS FROM
        source = f"ROWS FROM (json_to_recordset({rows}) AS ({record})) WITH ORDINALITY AS r({names}, ord)"
    picked = ", ".join(f"r.{_q(c)}" for c in table.columns)
    sql = f"INSERT INTO {table.name} ({names}, {_q(table.stamp)}) SELECT {picked}, {now} FROM {source} WHERE {_GUARD}"
    if ordered:  # acd_commands: sequence numbers in the order the router decided
        return sql + " ORDER BY r.ord"
    updates = ", ".join(f"{_q(c)} = EXCLUDED.{_q(c)}" for c in (*table.columns, table.stamp) if c != table.key)
    return sql + f" ON CONFLICT ({_q(table.key)}) DO UPDATE SET {updates}"


def _pg_statement() -> str:
    p = _Numbered()
    fence = (
        f"UPDATE acd_lease SET renewed_at = {p('timestamptz')}, expires_at = {p('timestamptz')}, "
        f"router_at = {p('float8')} WHERE name = {p('text')} AND epoch = {p('integer')} AND holder = {p('text')} "
        "RETURNING 1"
    )
    now = p("timestamptz")
    ctes = [
        f"fence AS ({fence})",
        f"gone AS (DELETE FROM acd_items WHERE item_id = ANY({p('text[]')}) AND {_GUARD})",
        f"items AS ({_pg_insert(ITEMS, p, now)})",
        f"agents AS ({_pg_insert(AGENTS, p, now)})",
        f"queues AS ({_pg_insert(QUEUES, p, now)})",
        f"inputs AS (UPDATE acd_inputs AS i SET taken_at = {now}, error = u.error FROM unnest({p('integer[]')}, "
        f"{p('text[]')}) AS u(seq, error) WHERE i.seq = u.seq AND {_GUARD})",
        f"commands AS ({_pg_insert(COMMANDS, p, now, ordered=True)})",
    ]
    notify = p("boolean")  # commands written: adapters LISTENing are woken at commit
    return (
        f"WITH {', '.join(ctes)} SELECT f.n, CASE WHEN {notify} AND f.n > 0 THEN "
        f"pg_notify('{NOTIFY_CHANNEL}', 'commands')::text END FROM (SELECT count(*) AS n FROM fence) AS f"
    )


PG_STATEMENT = _pg_statement()

# One JSON document per table: a single call of the C encoder, where per-column arrays cost a call per JSON
# value and the driver's per-element checks. Router values are finite: a NaN or infinity fails loudly here.
_rows_json = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode


def _pg_args(changes: Changes, fence: Fence, commands: Sequence[Command]) -> list[Any]:
    gone = [item_id for item_id, row in changes.items.items() if row is None]
    items = [row for row in changes.items.values() if row is not None]
    return [
        fence.renewed_at,
        fence.expires_at,
        fence.router_at,
        fence.name,
        fence.epoch,
        fence.holder,
        utcnow(),
        gone,
        _rows_json(items),
        _rows_json(list(changes.agents.values())),
        _rows_json(list(changes.queues.values())),
        list(changes.inputs),
        list(changes.inputs.values()),
        _rows_json([command_row(c) for c in commands]),
        bool(commands),
    ]


class PostgresTrip:
    """The batch statement on a connection of its own (checked out once, not per batch), prepared once."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._conn: AsyncConnection | None = None
        self._statement: Any = None  # asyncpg's PreparedStatement

    async def write(self, changes: Changes, fence: Fence, commands: Sequence[Command]) -> bool:
        args = _pg_args(changes, fence, commands)
        try:
            if self._statement is None:
                self._conn = await self.store.engine.connect()
                raw = await self._conn.get_raw_connection()
                self._statement = await raw.driver_connection.prepare(PG_STATEMENT)  # type: ignore[union-attr]
            fenced = await self._statement.fetchval(*args)
        except Exception:
            await self.close()  # a broken connection: a fresh one for the retry
            raise
        return bool(fenced == 1)

    async def close(self) -> None:
        conn, self._conn, self._statement = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(Exception):  # never back to the pool: a statement may have been cut short
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()


# -- SQLite -------------------------------------------------------------------------------------------------

_SQLITE_FENCE = (
    "UPDATE acd_lease SET renewed_at = ?, expires_at = ?, router_at = ? WHERE name = ? AND epoch = ? AND holder = ?"
)


def _sqlite_insert(table: _Table, *, upsert: bool) -> str:
    names = ", ".join(map(_q, (*table.columns, table.stamp)))
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * (len(table.columns) + 1))})"
    if not upsert:
        return sql
    updates = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in (*table.columns, table.stamp) if c != table.key)
    return sql + f" ON CONFLICT ({_q(table.key)}) DO UPDATE SET {updates}"


@dataclass(frozen=True, slots=True)
class _SqliteBatch:
    fence: tuple[Any, ...]
    gone: list[tuple[str]]
    upserts: list[tuple[str, list[tuple[Any, ...]]]]
    inputs: list[tuple[Any, ...]]
    commands: list[tuple[Any, ...]]


class SqliteTrip:
    """The batch's statements and commit in one thread with its own connection (one hop from the loop)."""

    UPSERTS = tuple((t, _sqlite_insert(t, upsert=True)) for t in (ITEMS, AGENTS, QUEUES))
    COMMANDS = _sqlite_insert(COMMANDS, upsert=False)

    def __init__(self, store: Store, path: str) -> None:
        self.path = path
        stamp_type = m.AcdItem.__table__.c.updated_at.type
        process = stamp_type.bind_processor(store.engine.dialect)
        self._stamp: Callable[[Any], Any] = process if process is not None else (lambda value: value)
        self._pool: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None  # used in the pool's one thread only

    async def write(self, changes: Changes, fence: Fence, commands: Sequence[Command]) -> bool:
        batch = self._batch(changes, fence, commands)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="acd-writer")
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._run, batch)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            with contextlib.suppress(Exception):
                await asyncio.get_running_loop().run_in_executor(pool, self._disconnect)
            pool.shutdown(wait=False)

    def _batch(self, changes: Changes, fence: Fence, commands: Sequence[Command]) -> _SqliteBatch:
        stamp = self._stamp
        now = stamp(utcnow())
        rows = {
            ITEMS.name: [row for row in changes.items.values() if row is not None],
            AGENTS.name: list(changes.agents.values()),
            QUEUES.name: list(changes.queues.values()),
        }
        return _SqliteBatch(
            (stamp(fence.renewed_at), stamp(fence.expires_at), fence.router_at, fence.name, fence.epoch, fence.holder),
            [(item_id,) for item_id, row in changes.items.items() if row is None],
            [(sql, table.tuples(rows[table.name], now)) for table, sql in self.UPSERTS if rows[table.name]],
            [(now, error, seq) for seq, error in changes.inputs.items()],
            COMMANDS.tuples([command_row(c) for c in commands], now),
        )

    def _run(self, batch: _SqliteBatch) -> bool:
        conn = self._conn if self._conn is not None else self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")  # the write lock at once: no upgrade from a reader to wait on
            if conn.execute(_SQLITE_FENCE, batch.fence).rowcount != 1:
                conn.execute("ROLLBACK")
                return False
            if batch.gone:
                conn.executemany("DELETE FROM acd_items WHERE item_id = ?", batch.gone)
            for sql, rows in batch.upserts:
                conn.executemany(sql, rows)
            if batch.inputs:
                conn.executemany("UPDATE acd_inputs SET taken_at = ?, error = ? WHERE seq = ?", batch.inputs)
            if batch.commands:
                conn.executemany(self.COMMANDS, batch.commands)
            conn.execute("COMMIT")
        except BaseException:
            self._disconnect()  # rolls back what the failed batch began; a fresh connection for the retry
            raise
        return True

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None)  # transactions: ours, explicit
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", "busy_timeout=5000"):  # as tvoxcc.store.engine
            conn.execute(f"PRAGMA {pragma}")
        self._conn = conn
        return conn

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
