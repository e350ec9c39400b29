"""A fixed Core INSERT or UPDATE, compiled once for SQLite and run on the sqlite3 cursor with SQLAlchemy's values.

The write counterpart of tvoxcc.store.precompiled. Executing a Core statement with many rows costs SQLAlchemy, per
row, a parameter dictionary built, its defaults filled and every value passed through its type's bind processor
inside the execution context, plus a cache key walked over the statement at every execution; for the voice
recorder's batches (an interaction row and ~11 event rows a call) that was most of the writer's CPU, more than
sqlite3's own. ``PrecompiledWrite(statement)`` compiles the statement once for the connection's SQLite dialect,
keeps its positional parameter order and takes each parameter's bind processor from its type through public API
(``type.dialect_impl(dialect).bind_processor(dialect)``, what SQLAlchemy caches for itself): UTCDateTime, JSON and
every TypeDecorator store exactly what the Core path stores. A column a row leaves out gets its Python default
(``Column.default`` / ``onupdate``, computed per row as SQLAlchemy does). The tuples go to the connection's own
sqlite3 cursor, inside the transaction SQLAlchemy began.

On any other driver (PostgreSQL, aiosqlite behind ``run_sync``) each method is the plain ``conn.execute``.

- ``many(conn, rows)``: one executemany, nothing returned.
- ``inserted_ids(conn, rows)``: an INSERT's new keys (a single INTEGER PRIMARY KEY), one per row, in their order.
  sqlite3's executemany returns no rows: on SQLite one execute per row and its ``lastrowid`` (for 10 rows ~0.26 ms
  of CPU; ~0.34 ms with RETURNING fetched per row or as one multi-row VALUES statement); elsewhere the INSERT …
  RETURNING the key with ``sort_by_parameter_order``.
- ``rowcounts(conn, rows)``: one execute per row, how many rows each changed (an UPDATE whose WHERE may no longer
  match).

For an INSERT, ``keys`` names the columns every row carries (the others get their defaults); an UPDATE names its
values with ``bindparam()``. Refused at construction: an expanding IN, a parameter of no type, a default that
reads the execution context or runs a sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Insert, Table, Update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.schema import Column, ColumnDefault
from sqlalchemy.types import NullType

from tvoxcc.store.precompiled import sqlite_cursor

_Values = Callable[[Mapping[str, Any]], Sequence[Any]]


@dataclass(frozen=True, slots=True)
class _Plan:
    """The statement compiled for one dialect: its SQL and how a row becomes its positional values."""

    dialect: Dialect
    sql: str
    values: _Values


class PrecompiledWrite:
    def __init__(self, statement: Insert | Update, keys: Sequence[str] = ()) -> None:
        if isinstance(statement, Update) and keys:
            raise ValueError("an UPDATE names its parameters with bindparam(), not keys")
        self.statement = statement
        self.keys = tuple(keys)
        self._with_ids = _with_ids(statement)
        self._plan = self._compile(sqlite.dialect())  # refuses what it cannot run at once, not at the first call

    # -- running it ---------------------------------------------------------------------------------------------

    def many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        if conn.dialect.driver != "pysqlite":
            conn.execute(self.statement, list(rows))
            return
        plan = self._plan_for(conn.dialect)
        cursor = sqlite_cursor(conn)
        try:
            cursor.executemany(plan.sql, map(plan.values, rows))
        finally:
            cursor.close()

    def inserted_ids(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """The INSERT's new primary keys, one per row and in their order."""
        if self._with_ids is None:
            raise ValueError("inserted_ids is for an INSERT into a table of one integer primary key")
        if not rows:
            return []
        if conn.dialect.driver != "pysqlite":
            return [int(i) for i in conn.execute(self._with_ids, list(rows)).scalars().all()]
        plan = self._plan_for(conn.dialect)
        cursor = sqlite_cursor(conn)
        try:
            ids: list[int] = []
            for row in rows:  # the key is the rowid (INTEGER PRIMARY KEY): no RETURNING row to fetch
                ids.append(cursor.execute(plan.sql, plan.values(row)).lastrowid)
            return ids
        finally:
            cursor.close()

    def rowcounts(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> list[int]:
        if conn.dialect.driver != "pysqlite":
            return [conn.execute(self.statement, dict(row)).rowcount for row in rows]
        plan = self._plan_for(conn.dialect)
        cursor = sqlite_cursor(conn)
        try:
            return [cursor.execute(plan.sql, plan.values(row)).rowcount for row in rows]
        finally:
            cursor.close()

    # -- compiling it -------------------------------------------------------------------------------------------

    def _plan_for(self, dialect: Dialect) -> _Plan:
        plan = self._plan
        if plan.dialect is not dialect:  # the connection's own (its JSON serializer, its options): once per engine
            plan = self._plan = self._compile(dialect)
        return plan

    def _compile(self, dialect: Dialect) -> _Plan:
        compiled = self.statement.compile(dialect=dialect, column_keys=list(self.keys) or None)
        order = compiled.positiontup
        if order is None or "POSTCOMPILE" in compiled.string or compiled.escaped_bind_names:
            raise ValueError("a precompiled write needs plain positional parameters (no expanding IN)")
        prefetch = {col.key: col for col in (*compiled.insert_prefetch, *compiled.update_prefetch)}
        filled: list[tuple[str, Callable[[], Any]]] = []  # what rows leave out: defaults, constants
        for name in dict.fromkeys(order):
            bind = compiled.binds[name]
            if isinstance(bind.type, NullType):
                raise ValueError(f"parameter {name!r} has no type: its values would not be processed")
            if name in prefetch:
                filled.append((name, _default(prefetch[name], compiled.isinsert)))
            elif not bind.required:
                filled.append((name, _constant(bind.effective_value)))
        processors = tuple(
            (i, processor)
            for i, name in enumerate(order)
            if (processor := compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
        )
        return _Plan(dialect, compiled.string, _row_values(tuple(order), tuple(filled), processors))


def _with_ids(statement: Insert | Update) -> Insert | None:
    """The INSERT returning its new keys in the order of the rows, when its table's key is SQLite's rowid."""
    if not isinstance(statement, Insert) or not isinstance(table := statement.table, Table):
        return None
    key = list(table.primary_key)
    if len(key) != 1 or key[0].type.compile(dialect=sqlite.dialect()) != "INTEGER":
        return None  # SQLite's rowid is the key only for a single INTEGER PRIMARY KEY
    return statement.returning(key[0], sort_by_parameter_order=True)


def _row_values(
    order: tuple[str, ...],
    filled: tuple[tuple[str, Callable[[], Any]], ...],
    processors: tuple[tuple[int, Callable[[Any], Any]], ...],
) -> _Values:
    """A row's positional values, processed as SQLAlchemy processes them (the common case kept to a tuple)."""
    pick = itemgetter(*order) if len(order) > 1 else (lambda row: (row[order[0]],))

    def values(row: Mapping[str, Any]) -> Sequence[Any]:
        if filled:
            row = {**row, **{name: make() for name, make in filled}}
        got = pick(row)
        if not processors:
            return got
        out = list(got)
        for i, process in processors:
            out[i] = process(out[i])
        return out

    return values


def _default(column: Column[Any], inserting: bool) -> Callable[[], Any]:
    default = column.default if inserting else column.onupdate
    if not isinstance(default, ColumnDefault):
        raise ValueError(f"column {column.key!r}: only scalar and plain callable defaults can be precompiled")
    if default.is_scalar:
        return _constant(default.arg)
    # SQLAlchemy wraps a default that takes no context (functools.update_wrapper: ``__wrapped__``); one that reads the
    # execution context has none here to read.
    if not default.is_callable or not hasattr(default.arg, "__wrapped__"):
        raise ValueError(f"column {column.key!r}: its default reads the execution context")
    make = default.arg
    return lambda: make(None)


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value
