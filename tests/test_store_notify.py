"""Wake keeps LISTENing on a real PostgreSQL: a listening connection the server killed, or whose server went
silent, is made again, its channels listened to again, the waiter woken and ``on_reconnect`` called."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

import pytest
from sqlalchemy import text

from tests.conftest import _create_pg_database
from tests.servers.postgres import PostgresServer
from tvoxcc.store.engine import Store
from tvoxcc.store.notify import Wake, notify

WITHIN_S = 30.0  # a guard against hanging, not a measure: each step normally takes milliseconds
WAKE = "tvoxcc_test_wake"
NEWS = "tvoxcc_test_news"
T = TypeVar("T")


@pytest.fixture
async def store(postgres: PostgresServer) -> AsyncIterator[Store]:
    s = Store.from_url(_create_pg_database(postgres))
    yield s
    await s.dispose()


class Gate:
    """A TCP door in front of PostgreSQL: shut, it takes each connection and closes it at once (a server that
    does not answer yet); open, it passes the bytes both ways."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.shut = True
        self.refused = 0
        self.knocked = asyncio.Event()  # set at each refused connection
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def refusals(self, count: int) -> None:
        while self.refused < count:
            self.knocked.clear()
            await self.knocked.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.shut:
            self.refused += 1
            self.knocked.set()
            writer.close()
            return
        upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()

        pumps = [asyncio.create_task(pump(reader, upstream_w)), asyncio.create_task(pump(upstream_r, writer))]
        with contextlib.suppress(Exception):
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for task in pumps:
            task.cancel()
        for sink in (writer, upstream_w):
            sink.close()


async def within(step: Awaitable[T], what: str) -> T:
    try:
        async with asyncio.timeout(WITHIN_S):
            return await step
    except TimeoutError:
        raise AssertionError(f"not within {WITHIN_S:g} s: {what}") from None


async def say(store: Store, payload: str) -> None:
    async with store.session() as session:
        await notify(session, NEWS, payload)
        await session.commit()


async def listening_pids(store: Store) -> list[int]:
    """The backends LISTENing on this test's database (their last query was a LISTEN)."""
    async with store.session() as session:
        rows = await session.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                " AND pid <> pg_backend_pid()"
            )
        )
        return list(rows.scalars())


async def heard_again(store: Store, heard: asyncio.Queue[str], payload: str) -> None:
    """``payload`` NOTIFYed until the handler hears it (a NOTIFY sent while the Wake is down is not kept)."""
    while True:
        await say(store, payload)
        try:
            async with asyncio.timeout(0.5):
                while await heard.get() != payload:
                    pass
                return
        except TimeoutError:
            continue


async def test_a_listening_connection_the_server_killed_is_made_again(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tvoxcc")
    heard: asyncio.Queue[str] = asyncio.Queue()
    reconnected = asyncio.Event()
    wake = await Wake.open(store, WAKE, {NEWS: heard.put_nowait}, on_reconnect=reconnected.set)
    try:
        await say(store, "before")
        assert await within(heard.get(), "the NOTIFY before the kill") == "before"
        [pid] = await listening_pids(store)
        async with store.session() as session:
            assert (await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar_one()
        await within(reconnected.wait(), "on_reconnect called")
        await within(wake.wait(3600.0), "the waiter woken once listening again (NOTIFYs may have been missed)")
        await within(heard_again(store, heard, "after"), "the handler hears a NOTIFY after the kill")
        assert wake.listening
        assert (await listening_pids(store)) != [pid]
    finally:
        await wake.close()
    said = [(r.levelno, r.getMessage()) for r in caplog.records if r.getMessage().startswith(f"LISTEN on {WAKE}")]
    assert [level for level, _ in said] == [logging.WARNING, logging.INFO], said  # lost, then back
    assert said[0][1].startswith(f"LISTEN on {WAKE}: lost (connection closed), polling until it is back; retrying")
    assert not wake.listening
    assert await listening_pids(store) == []  # closed for good: nothing LISTENs any more


async def test_a_listening_connection_whose_server_went_silent_is_made_again(store: Store) -> None:
    """A network cut: the backend stopped (SIGSTOP) answers nothing and closes nothing; the liveness query on
    the listening connection times out and a new connection LISTENs."""
    heard: asyncio.Queue[str] = asyncio.Queue()
    reconnected = asyncio.Event()
    wake = await Wake.open(store, WAKE, {NEWS: heard.put_nowait}, on_reconnect=reconnected.set, check_every_s=0.5)
    [pid] = await listening_pids(store)
    os.kill(pid, signal.SIGSTOP)
    try:
        await within(reconnected.wait(), "on_reconnect called")
        await within(heard_again(store, heard, "after"), "the handler hears a NOTIFY after the cut")
        assert set(await listening_pids(store)) - {pid}  # a new backend LISTENs (the stopped one stays)
    finally:
        os.kill(pid, signal.SIGCONT)
        await wake.close()


async def test_a_wake_that_cannot_listen_waits_out_its_time_and_close_stops_its_retries() -> None:
    """No server on the port: it polls (``wait`` returns after its time), retries in the background, and
    ``close`` ends the retrying."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    store = Store.from_url(f"postgresql://postgres@127.0.0.1:{closed_port}/postgres")
    try:
        wake = await Wake.open(store, WAKE)
        assert not wake.listening
        await within(wake.wait(0.05), "the timer fallback")
        retrying = [task for task in asyncio.all_tasks() if task.get_name() == f"listen-{WAKE}"]
        assert len(retrying) == 1 and not retrying[0].done()
        await wake.close()
        assert retrying[0].cancelled()
    finally:
        await store.dispose()


async def test_a_listening_connection_down_for_many_tries_warns_once_and_says_once_when_back(
    postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    """However many tries it takes, one warning when it cannot listen and one info line once it does again
    (the tries between are at debug): a server down for an hour does not flood the log."""
    caplog.set_level(logging.DEBUG, logger="tvoxcc")
    gate = Gate(postgres.port)
    await gate.start()
    store = Store.from_url(_create_pg_database(postgres).replace(f":{postgres.port}/", f":{gate.port}/"))
    reconnected = asyncio.Event()
    try:
        wake = await Wake.open(store, WAKE, on_reconnect=reconnected.set)
        try:
            assert not wake.listening
            await within(gate.refusals(4), "the first try and its retries refused")
            gate.shut = False
            await within(reconnected.wait(), "on_reconnect called once it listens")
            assert wake.listening
        finally:
            await wake.close()
    finally:
        await gate.stop()
        await store.dispose()
    said = [(r.levelno, r.getMessage()) for r in caplog.records if r.getMessage().startswith(f"LISTEN on {WAKE}")]
    assert [level for level, _ in said if level >= logging.INFO] == [logging.WARNING, logging.INFO], said
    assert said[0][1].startswith(f"LISTEN on {WAKE}: cannot connect (")
    quiet = sum(level == logging.DEBUG for level, _ in said)  # the tries between: kept out of the warnings
    assert quiet >= 3 and re.fullmatch(rf"LISTEN on {WAKE}: back after {quiet + 1} tries", said[-1][1]), said
