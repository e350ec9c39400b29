"""Which errors mean "the store went away": real ones from a real PostgreSQL and SQLite, not made-up objects.

A connection killed by the server and a server that does not answer are lost; a constraint, a bad query or a
missing file are not — a leader whose work raises one of those must fail loudly, not stand by and retry forever.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import text

from tests.servers.postgres import PostgresServer
from tvoxcc.cluster import run_as_leader
from tvoxcc.store.engine import Store
from tvoxcc.store.lost import is_database_lost


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_report() -> None:
    """The kind of work error a leader meets: a file it cannot write."""
    Path("/nonexistent/tvoxcc/report.csv").write_text("x")


async def _error_of(store: Store, sql: str) -> BaseException:
    with pytest.raises(Exception) as caught:
        async with store.session() as session:
            await session.execute(text(sql))
    return caught.value


async def test_a_connection_the_server_killed_is_lost(postgres: PostgresServer) -> None:
    store, killer = Store.from_url(postgres.url("postgres")), Store.from_url(postgres.url("postgres"))
    try:
        async with store.session() as session:
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            async with killer.session() as other:
                await other.execute(text(f"SELECT pg_terminate_backend({int(pid)})"))
            with pytest.raises(Exception) as caught:
                await session.execute(text("SELECT 1"))
    finally:
        await store.dispose()
        await killer.dispose()
    assert is_database_lost(caught.value), repr(caught.value)


async def test_a_server_that_does_not_answer_is_lost(postgres: PostgresServer) -> None:
    url = postgres.url("postgres").replace(f":{postgres.port}/", f":{_closed_port()}/")
    store = Store.from_url(url)
    try:
        error = await _error_of(store, "SELECT 1")
    finally:
        await store.dispose()
    assert is_database_lost(error), repr(error)
    with pytest.raises(OSError) as direct:  # asyncpg used directly, as LISTEN does
        await asyncpg.connect(host="127.0.0.1", port=_closed_port(), user="postgres", timeout=5)
    assert is_database_lost(direct.value), repr(direct.value)


async def test_errors_of_the_work_itself_are_not_lost(store: Store) -> None:
    async with store.session() as session:
        await session.execute(text("CREATE TABLE lost_probe (id INTEGER PRIMARY KEY)"))
        await session.execute(text("INSERT INTO lost_probe VALUES (1)"))
        await session.commit()
    duplicate = await _error_of(store, "INSERT INTO lost_probe VALUES (1)")
    bad_query = await _error_of(store, "SELECT no_such_column FROM lost_probe")
    with pytest.raises(FileNotFoundError) as missing:
        _write_report()
    for error in (duplicate, bad_query, missing.value, PermissionError(13, "Permission denied")):
        assert not is_database_lost(error), repr(error)


async def test_a_leader_whose_work_fails_on_a_file_fails_instead_of_standing_by(store: Store) -> None:
    runs = 0

    async def work(active: asyncio.Event) -> None:
        nonlocal runs
        runs += 1
        _write_report()

    with pytest.raises(FileNotFoundError):
        await asyncio.wait_for(run_as_leader(store, "insight", asyncio.Event(), work, poll_s=0.05), timeout=30)
    assert runs == 1
