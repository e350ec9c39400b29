"""The lease of a holder cut off from the store (its host's network gone) is bounded in time on both sides.

PostgreSQL: a renewal the server does not answer within a third of the ttl is a lost lease; a holder not
confirmed for two thirds of it is overdue (its watchdog stops it); the server is asked to drop every session
whose client has gone silent, the lock's after the ttl. SQLite lives on the same machine: nothing to bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, text

from tests.conftest import _create_pg_database
from tests.servers.postgres import PostgresServer
from tests.test_acd_lease import Clock
from tvoxcc.acd import Lease, LeaseLost
from tvoxcc.store import models as m
from tvoxcc.store.engine import DEAD_PEER_S, Store, dead_peer_settings
from tvoxcc.store.migrate import upgrade


@pytest.fixture
async def pg_store(postgres: PostgresServer) -> AsyncIterator[Store]:
    """A migrated PostgreSQL database: what these bounds are for (a store over the network)."""
    url = _create_pg_database(postgres)
    await asyncio.to_thread(upgrade, url)
    store = Store.from_url(url)
    yield store
    await store.dispose()


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_holder_unconfirmed_for_two_thirds_of_the_ttl_is_overdue_on_postgresql(store: Store) -> None:
    ticks = Ticks()
    lease = Lease(store, Clock(), ttl_s=9, monotonic=ticks)
    assert not lease.overdue()  # not held
    assert await lease.try_acquire()
    ticks.now += 5.9
    assert not lease.overdue()
    ticks.now += 0.2  # 6.1 s > 2/3 of 9 s
    assert lease.overdue() is (store.engine.dialect.name == "postgresql")
    await lease.renew()
    assert not lease.overdue()
    await lease.release()
    ticks.now += 100
    assert not lease.overdue()


async def test_a_renewal_the_server_does_not_answer_in_a_third_of_the_ttl_loses_the_lease(pg_store: Store) -> None:
    store = pg_store
    lease = Lease(store, Clock(), ttl_s=3)
    assert await lease.try_acquire()
    async with store.engine.connect() as blocker:  # the lease row locked: the renewal's UPDATE gets no answer
        await blocker.execute(select(m.AcdLease).where(m.AcdLease.name == lease.name).with_for_update())
        started = asyncio.get_running_loop().time()
        with pytest.raises(LeaseLost, match="did not confirm"):
            await lease.renew()
        waited = asyncio.get_running_loop().time() - started
        await blocker.rollback()
    assert not lease.held and 0.9 <= waited < 3
    other = Lease(store, Clock(), ttl_s=3)
    assert await other.try_acquire(), "the advisory lock went with the dropped lock connection"
    await other.release()


async def test_the_server_drops_a_silent_client_the_lock_after_the_ttl(pg_store: Store) -> None:
    store = pg_store
    names = ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count", "tcp_user_timeout")

    async def shown(connection: object) -> dict[str, int]:
        values = {}
        for name in names:
            value = await connection.scalar(text(f"SELECT current_setting('{name}')"))  # type: ignore[attr-defined]
            values[name] = int(str(value).removesuffix("s").removesuffix("ms"))
        return values

    async with store.engine.connect() as plain:
        assert await shown(plain) == dead_peer_settings(DEAD_PEER_S)
    assert dead_peer_settings(DEAD_PEER_S) == {
        "tcp_keepalives_idle": 5,
        "tcp_keepalives_interval": 1,
        "tcp_keepalives_count": 5,
        "tcp_user_timeout": 10000,
    }
    lease = Lease(store, Clock(), ttl_s=6)
    assert await lease.try_acquire()
    assert lease._lock_conn is not None
    assert await shown(lease._lock_conn) == {
        "tcp_keepalives_idle": 3,
        "tcp_keepalives_interval": 1,
        "tcp_keepalives_count": 3,
        "tcp_user_timeout": 6000,
    }
    await lease.release()
