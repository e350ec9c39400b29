"""A poller's "anything for me?", asked the cheapest way, before its real work.

The voice service looks for other processes' requests many times a second (the ACD's inputs, click-to-call,
recording pauses, supervisors' listen requests, SMS replies, running campaigns) and almost always finds none.
Through the async ORM each empty look cost 1–2 ms of CPU (a session, a greenlet, a hop to aiosqlite's thread and
back, and for some a write transaction); at 40 calls/s the looks alone cost more than a call (bench/voice.py).
``exists`` and ``rows`` run a Core statement on the store's one cheap reader (tvoxcc.store.one_hop: on a SQLite
file at once in the event loop's thread, never waiting for a lock; elsewhere one transaction, one round trip),
so a poller only opens a session when there is something to take.

A poller builds its statements once, at module level (``probe`` for an ``exists``): SQLAlchemy finds a
statement's compiled form by its cache key, and a statement built anew at every poll costs its construction and
its key, together more CPU than running it (~0.1 ms a look: the idle voice service's biggest share).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import Connection, Row, Select, select

from tvoxcc.store.engine import Store
from tvoxcc.store.one_hop import OneHop

_KEY = "peek"
Ts = TypeVarTuple("Ts")
AnySelect = Select[*tuple[Any, ...]]
Tables = tuple[tuple[tuple[Any, ...], ...], ...]  # each query's rows, as plain tuples


def _reader(store: Store) -> OneHop:
    reader = store.extras.get(_KEY)
    if reader is None:
        reader = store.extras[_KEY] = OneHop(store, "peek")
        store.on_dispose(reader.close)
    assert isinstance(reader, OneHop)
    return reader


@dataclass(frozen=True, slots=True)
class Probe:
    """Whether a query has a row, as one statement built once (``probe``)."""

    statement: Select[tuple[bool]]


def probe(query: Select[Any]) -> Probe:
    """``exists``'s statement for ``query``: build it once (module level), look with it at every poll."""
    return Probe(select(query.exists()))


async def exists(store: Store, looked_for: Probe) -> bool:
    """Whether ``looked_for``'s query has a row."""
    return await _reader(store).read(_exists, looked_for.statement)


async def rows(store: Store, query: Select[*Ts]) -> Sequence[Row[*Ts]]:
    """``query``'s rows, read without a session (a short read: a poll's, not a call's)."""
    return await _reader(store).read(_rows, query)


async def plain_rows(store: Store, queries: Sequence[AnySelect]) -> Tables:
    """Each query's rows as plain tuples, all read in one transaction: a look to compare with the last one."""
    return await _reader(store).read(_plain_rows, queries)


def _plain_rows(conn: Connection, queries: Sequence[AnySelect]) -> Tables:
    return tuple(tuple(tuple(row) for row in conn.execute(query)) for query in queries)


def _exists(conn: Connection, statement: Select[tuple[bool]]) -> bool:
    return bool(conn.execute(statement).scalar())


def _rows(conn: Connection, query: Select[*Ts]) -> Sequence[Row[*Ts]]:
    return conn.execute(query).all()
