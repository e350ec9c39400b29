"""A fixed Core SELECT a call waits for, compiled once and run on SQLite as its SQL text.

Executing a Core statement costs SQLAlchemy a cache key walked over the whole statement, a compiled-cache
lookup, parameter processing and a result wrapper at every execution: for the caller lookup every call waits
for (tvoxcc.journey.identify) that was ~0.28 ms of the event loop's CPU, ~0.02 ms run this way.
``Precompiled(statement).rows(conn, params)`` compiles the statement for SQLite once and runs the text on the
connection's own sqlite3 cursor (in the transaction SQLAlchemy began), values in the compiled order; on any
other driver (PostgreSQL, aiosqlite behind ``run_sync``) it is a plain ``conn.execute``. The statement must
have no expanding IN and no type whose values SQLite returns converted by SQLAlchemy (dates, JSON, enums): the
rows are the driver's tuples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.dialects import sqlite


class Precompiled:
    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        compiled = statement.compile(dialect=sqlite.dialect())
        if "POSTCOMPILE" in compiled.string or compiled.positiontup is None:
            raise ValueError("a precompiled statement needs plain positional parameters (no expanding IN)")
        self.sql = compiled.string
        self.order = tuple(compiled.positiontup)

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> Sequence[tuple[Any, ...]]:
        if conn.dialect.driver != "pysqlite":
            return [tuple(row) for row in conn.execute(self.statement, dict(params)).all()]
        cursor = sqlite_cursor(conn)
        try:
            return cursor.execute(self.sql, tuple(params[key] for key in self.order)).fetchall()  # type: ignore[no-any-return]
        finally:
            cursor.close()


def sqlite_cursor(conn: Connection) -> Any:
    """A new cursor of the connection's own sqlite3 connection, in the transaction SQLAlchemy began on it."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
