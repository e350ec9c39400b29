"""OneHop: a writer's transaction in one hop to a thread of its own (SQLite) or through run_sync (PostgreSQL),
whole or not at all, and a short read (at once in the event loop's thread on SQLite) that sees it."""

from __future__ import annotations

import contextlib

from sqlalchemy import Connection, insert, select

from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.one_hop import OneHop

TENANTS = m.Tenant.__table__


def add_tenant(conn: Connection, name: str) -> int:
    return int(conn.execute(insert(TENANTS).values(name=name).returning(TENANTS.c.id)).scalar_one())


def tenant_names(conn: Connection) -> list[str]:
    return list(conn.execute(select(TENANTS.c.name).order_by(TENANTS.c.name)).scalars())


def fail_after_adding(conn: Connection, name: str) -> None:
    add_tenant(conn, name)
    raise RuntimeError("boom")


async def test_a_transaction_commits_or_rolls_back_whole_and_reads_see_it(store: Store) -> None:
    hop = OneHop(store, "test-hop")
    try:
        assert await hop.run(add_tenant, "acme") > 0
        with contextlib.suppress(RuntimeError):
            await hop.run(fail_after_adding, "ghost")
        assert await hop.run(add_tenant, "beta") > 0  # the failed one left the connection usable
        assert await hop.read(tenant_names) == ["acme", "beta"]
        async with store.session() as session:  # the store's own engine sees the same rows
            assert list((await session.execute(select(m.Tenant.name).order_by(m.Tenant.name))).scalars()) == [
                "acme",
                "beta",
            ]
    finally:
        await hop.close()
