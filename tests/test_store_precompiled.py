"""A statement compiled once for SQLite answers what SQLAlchemy's own execution answers, on every driver."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, bindparam, create_engine, select

from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.precompiled import Precompiled

QUERY = (
    select(m.Tenant.id, m.Tenant.name, m.Tenant.country)
    .where(m.Tenant.name != bindparam("skip"), m.Tenant.id >= bindparam("from_id"))
    .order_by(m.Tenant.id)
)


def _both(conn: Connection, params: dict[str, object]) -> tuple[object, object]:
    expected = [tuple(row) for row in conn.execute(QUERY, params).all()]
    return Precompiled(QUERY).rows(conn, params), expected


async def test_the_rows_are_sqlalchemys_on_each_backend_and_driver(store: Store, migrated_url: str) -> None:
    async with store.session() as session:
        session.add_all([m.Tenant(name=name, country="IT") for name in ("acme", "beta", "gamma")])
        await session.commit()
    params: dict[str, object] = {"skip": "beta", "from_id": 1}
    async with store.engine.connect() as conn:  # aiosqlite / asyncpg behind run_sync: SQLAlchemy runs it
        got, expected = await conn.run_sync(_both, params)
    assert got == expected and [row[1] for row in expected] == ["acme", "gamma"]  # type: ignore[index, attr-defined]
    if migrated_url.startswith("sqlite"):  # the voice service's plain pysqlite connection: the SQL text
        engine = create_engine(migrated_url)
        try:
            with engine.connect() as conn, conn.begin():
                assert conn.dialect.driver == "pysqlite"
                got, again = _both(conn, params)
        finally:
            engine.dispose()
        assert got == again == expected


def test_an_expanding_in_is_refused() -> None:
    with pytest.raises(ValueError, match="expanding IN"):
        Precompiled(select(m.Tenant.id).where(m.Tenant.name.in_(bindparam("names", expanding=True))))
