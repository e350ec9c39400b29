"""A write compiled once for SQLite stores exactly what SQLAlchemy's own execution stores, on every driver.

The same rows go once through Core (``conn.execute``) and once through PrecompiledWrite; what the database holds is
read back raw (on SQLite the stored text: dates as SQLAlchemy formats them, JSON as its serializer writes it, NULLs)
and must be the same, column by column, but for the key and the per-row ``created_at`` default.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    insert,
    text,
    update,
)

from tests.test_acd_service import tenant as new_tenant
from tvoxcc.interactions import Direction
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.precompiled_write import PrecompiledWrite

INTERACTIONS: Table = m.Interaction.__table__  # type: ignore[assignment]
EVENTS: Table = m.InteractionEvent.__table__  # type: ignore[assignment]
ROME = timezone(timedelta(hours=2))
AT = datetime(2026, 3, 2, 11, 0, 0, 123456, tzinfo=ROME)  # stored as 09:00 UTC, microseconds kept
OPEN_KEYS = ("tenant_id", "channel", "external_id", "offered_at", "answered_at", "outcome", "agent_id")
EVENT_KEYS = ("tenant_id", "kind", "at", "data", "agent_id", "queue_id", "interaction_id")


def _opened(tenant: int) -> list[dict[str, Any]]:
    """New interactions; ``direction``, ``from_address``, ``created_at`` … are left to their defaults."""
    return [
        {"tenant_id": tenant, "channel": "voice", "external_id": "c1", "offered_at": AT, "answered_at": None,
         "outcome": None, "agent_id": None},
        {"tenant_id": tenant, "channel": "voice", "external_id": None, "offered_at": AT.astimezone(UTC),
         "answered_at": AT + timedelta(seconds=3), "outcome": "answered", "agent_id": None},
    ]  # fmt: skip


def _events(tenant: int, interaction: int) -> list[dict[str, Any]]:
    data: list[Any] = [{}, {"caller": "+39 02 1234", "n": 3, "x": None}, {"è": ["ü", 1.5, True, {"deep": []}]}]
    return [
        {"tenant_id": tenant, "kind": f"k{n}", "at": AT + timedelta(microseconds=n), "data": d, "agent_id": None,
         "queue_id": None, "interaction_id": interaction if n else None}
        for n, d in enumerate(data)
    ]  # fmt: skip


def _raw(conn: Connection, table: Table, ids: list[int], *, but: str = "") -> list[dict[str, Any]]:
    """The stored values as the driver hands them back, every column but the key, ``created_at`` and ``but``."""
    names = [c.name for c in table.columns if c.name not in ("id", "created_at", but)]
    sql = f"SELECT {', '.join(names)} FROM {table.name} WHERE id IN ({', '.join(map(str, ids))}) ORDER BY id"
    return [dict(zip(names, row, strict=True)) for row in conn.exec_driver_sql(sql).all()]


def _write_both(conn: Connection, tenant: int) -> dict[str, Any]:
    """Each write done by Core and by PrecompiledWrite: what each stored, and what the ends said."""
    core_ids = [
        int(i)
        for i in conn.execute(
            insert(INTERACTIONS).returning(INTERACTIONS.c.id, sort_by_parameter_order=True), _opened(tenant)
        ).scalars()
    ]
    ids = PrecompiledWrite(insert(INTERACTIONS), keys=OPEN_KEYS).inserted_ids(conn, _opened(tenant))
    conn.execute(insert(EVENTS), _events(tenant, core_ids[0]))
    PrecompiledWrite(insert(EVENTS), keys=EVENT_KEYS).many(conn, _events(tenant, ids[0]))

    change: dict[str, Any] = {"recording": bindparam("v_recording"), "answered_at": bindparam("v_answered_at")}
    changing = update(INTERACTIONS).where(INTERACTIONS.c.id == bindparam("v_id")).values(change)
    params: list[dict[str, Any]] = [
        {"v_recording": "r.wav", "v_answered_at": AT + timedelta(days=1)},
        {"v_recording": None, "v_answered_at": None},
    ]
    conn.execute(changing, [{**p, "v_id": i} for p, i in zip(params, core_ids, strict=True)])
    PrecompiledWrite(changing).many(conn, [{**p, "v_id": i} for p, i in zip(params, ids, strict=True)])

    ending = (
        update(INTERACTIONS)
        .where(INTERACTIONS.c.id == bindparam("v_id"), INTERACTIONS.c.ended_at.is_(None))
        .values(ended_at=bindparam("v_at"), outcome=bindparam("v_outcome"))
    )
    for i in (core_ids[1], ids[1]):  # ended before (another writer)
        conn.execute(ending, {"v_id": i, "v_at": AT, "v_outcome": "abandoned"})
    ends = [{"v_at": AT + timedelta(minutes=1), "v_outcome": "answered"}] * 2
    core_counts = [conn.execute(ending, {**e, "v_id": i}).rowcount for e, i in zip(ends, core_ids, strict=True)]
    counts = PrecompiledWrite(ending).rowcounts(conn, [{**e, "v_id": i} for e, i in zip(ends, ids, strict=True)])

    return {
        "ids": ids,
        "core_ids": core_ids,
        "counts": (counts, core_counts),
        "created": conn.exec_driver_sql(f"SELECT created_at FROM interactions WHERE id = {ids[0]}").scalar(),
        "interactions": (_raw(conn, INTERACTIONS, ids), _raw(conn, INTERACTIONS, core_ids)),
        "events": (
            _raw(conn, EVENTS, _ids_of(conn, ids[0]), but="interaction_id"),
            _raw(conn, EVENTS, _ids_of(conn, core_ids[0]), but="interaction_id"),
        ),
    }


def _ids_of(conn: Connection, interaction: int) -> list[int]:
    """The events written with ``interaction``: the first has none, the next two name it (ids ascend)."""
    sql = f"SELECT id FROM interaction_events WHERE interaction_id = {interaction} ORDER BY id"
    linked = [int(i) for i in conn.exec_driver_sql(sql).scalars()]
    return [linked[0] - 1, *linked]


def _check(written: dict[str, Any]) -> None:
    ids, core_ids = written["ids"], written["core_ids"]
    assert len(ids) == 2 and ids[1] == ids[0] + 1 and min(ids) > max(core_ids)  # the rows' own keys, in order
    assert written["counts"] == ([1, 0], [1, 0])  # ended only what was still open
    assert written["created"] is not None  # the callable default, computed per row
    mine, core = written["interactions"]
    assert mine == core and len(mine) == 2
    assert mine[0]["direction"] == Direction.INBOUND and mine[0]["from_address"] == ""  # scalar defaults
    assert [i["outcome"] for i in mine] == ["answered", "abandoned"] and mine[1]["recording"] is None
    mine, core = written["events"]
    assert mine == core and len(mine) == 3


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
async def test_the_stored_rows_are_sqlalchemys_on_each_backend_and_driver(store: Store, migrated_url: str) -> None:
    tenant = await new_tenant(store)
    async with store.engine.begin() as conn:  # aiosqlite / asyncpg behind run_sync: SQLAlchemy runs it
        _check(await conn.run_sync(_write_both, tenant))
    if migrated_url.startswith("sqlite"):  # the voice recorder's plain pysqlite connection: tuples to sqlite3
        engine = create_engine(migrated_url)
        try:
            with engine.connect() as plain, plain.begin():
                assert plain.dialect.driver == "pysqlite"
                written = _write_both(plain, tenant)
        finally:
            engine.dispose()
        _check(written)
        stored = written["interactions"][0][0]  # the text SQLAlchemy's SQLite DATETIME writes, in UTC
        assert (
            stored["offered_at"] == "2026-03-02 09:00:00.123456" and stored["ended_at"] == "2026-03-02 09:01:00.123456"
        )
        assert written["events"][0][1]["data"] == '{"caller": "+39 02 1234", "n": 3, "x": null}'  # its JSON text


def test_what_cannot_be_precompiled_is_refused() -> None:
    table = Table(
        "t",
        MetaData(),
        Column("code", String(8), primary_key=True),
        Column("n", Integer, default=lambda context: context.get_current_parameters()["m"]),
        Column("m", Integer),
    )
    with pytest.raises(ValueError, match="execution context"):
        PrecompiledWrite(insert(table), keys=("code", "m"))
    with pytest.raises(ValueError, match="bindparam"):
        PrecompiledWrite(update(table).values(m=bindparam("v_m")), keys=("m",))
    with pytest.raises(ValueError, match="no expanding IN"):
        PrecompiledWrite(update(table).where(table.c.code.in_(bindparam("codes", expanding=True))).values(m=1))
    with pytest.raises(ValueError, match="no type"):
        PrecompiledWrite(update(table).where(text("code = :code")).values(m=1))
    keyed = PrecompiledWrite(insert(table), keys=("code", "n", "m"))
    engine = create_engine("sqlite://")
    try:
        with engine.connect() as conn, pytest.raises(ValueError, match="integer primary key"):
            keyed.inserted_ids(conn, [{"code": "a", "n": 1, "m": 2}])
    finally:
        engine.dispose()
