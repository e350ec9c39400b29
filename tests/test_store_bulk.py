"""Bulk INSERT through the driver stores exactly what SQLAlchemy's INSERT stores, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import Table, insert, select

from tvoxcc.store import models as m
from tvoxcc.store.bulk import insert_rows, insert_rows_returning_ids
from tvoxcc.store.engine import Store
from tvoxcc.store.tenancy import TenantViolation

EVENTS = cast(Table, m.InteractionEvent.__table__)
REJECTIONS = cast(Table, m.MailRejection.__table__)


async def _tenant(store: Store, name: str) -> int:
    async with store.session() as session:
        tenant = m.Tenant(name=name)
        session.add(tenant)
        await session.commit()
        return tenant.id


def _rows(tenant_id: int, kind: str) -> list[dict[str, Any]]:
    rome = timezone(timedelta(hours=1))
    at = datetime(2026, 12, 6, 10, 0, 0, 123456, tzinfo=rome)  # stored as UTC, like the ORM does
    return [
        {"tenant_id": tenant_id, "kind": kind, "at": at, "data": {"ticket": 1001, "who": "Zoë"}},
        {"tenant_id": tenant_id, "kind": kind, "at": at, "data": None},  # JSON null, as SQLAlchemy stores it
        {"tenant_id": tenant_id, "kind": kind, "at": at + timedelta(seconds=1), "data": [1, "two"]},
    ]


async def _read(store: Store, kind: str) -> list[tuple[Any, ...]]:
    async with store.session() as session:
        found = await session.execute(
            select(EVENTS.c.tenant_id, EVENTS.c.at, EVENTS.c.data, EVENTS.c.interaction_id)
            .where(EVENTS.c.kind == kind)
            .order_by(EVENTS.c.id)
        )
        return [tuple(row) for row in found.all()]


async def test_bulk_rows_read_back_as_sqlalchemy_insert_rows(store: Store) -> None:
    tenant_id = await _tenant(store, "acme")
    async with store.tenant(tenant_id) as session:
        await insert_rows(session, EVENTS, _rows(tenant_id, "bulk"))
        await session.execute(insert(EVENTS), _rows(tenant_id, "sqlalchemy"))
        await session.commit()
    bulk, reference = await _read(store, "bulk"), await _read(store, "sqlalchemy")
    assert bulk == reference
    assert bulk[0][1] == datetime(2026, 12, 6, 9, 0, 0, 123456, tzinfo=UTC)
    assert [row[2] for row in bulk] == [{"ticket": 1001, "who": "Zoë"}, None, [1, "two"]]


async def test_left_out_columns_take_their_python_defaults(store: Store) -> None:
    tenant_id = await _tenant(store, "acme")
    before = datetime.now(UTC)
    async with store.tenant(tenant_id) as session:
        await insert_rows(session, EVENTS, [{"tenant_id": tenant_id, "kind": "defaults"}] * 2)
        await insert_rows(session, REJECTIONS, [{"tenant_id": tenant_id, "mailbox": "box", "reason": "spam"}])
        await session.commit()
    rows = await _read(store, "defaults")
    assert [row[2] for row in rows] == [{}, {}] and all(before <= row[1] <= datetime.now(UTC) for row in rows)
    async with store.tenant(tenant_id) as session:
        rejection = (await session.execute(select(m.MailRejection))).scalar_one()
    assert (rejection.sender, rejection.subject, rejection.uid) == ("", "", None)


async def test_refuses_another_tenants_rows_and_ragged_rows(store: Store) -> None:
    mine, other = await _tenant(store, "acme"), await _tenant(store, "globex")
    async with store.tenant(mine) as session:
        with pytest.raises(TenantViolation):
            await insert_rows(session, EVENTS, [{"tenant_id": other, "kind": "x"}])
        with pytest.raises(TenantViolation):
            await insert_rows(session, EVENTS, [{"kind": "x"}])
        with pytest.raises(ValueError, match="same columns"):
            await insert_rows(session, EVENTS, [{"tenant_id": mine, "kind": "x"}, {"tenant_id": mine, "at": None}])
        with pytest.raises(ValueError, match="no column colour"):
            await insert_rows(session, EVENTS, [{"tenant_id": mine, "kind": "x", "colour": "red"}])
    assert await _read(store, "x") == []


async def test_ids_come_back_in_row_order_on_postgresql(store: Store) -> None:
    tenant_id = await _tenant(store, "acme")
    rows = [{"tenant_id": tenant_id, "kind": f"k{i}"} for i in range(300)]
    async with store.tenant(tenant_id) as session:
        if store.engine.dialect.name != "postgresql":
            with pytest.raises(ValueError, match="only returned on PostgreSQL"):
                await insert_rows_returning_ids(session, EVENTS, rows)
            return
        await insert_rows(session, EVENTS, rows[:7])  # ids already taken: the new ones follow
        ids = await insert_rows_returning_ids(session, EVENTS, rows)
        await session.commit()
        stored = dict((await session.execute(select(EVENTS.c.id, EVENTS.c.kind).where(EVENTS.c.id.in_(ids)))).all())
    assert [stored[i] for i in ids] == [row["kind"] for row in rows]
