"""The audit log on SQLite and PostgreSQL: the chain, tampering with raw SQL, concurrent writers, the CLI."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from tests.cli import Tvox
from tvoxcc import audit
from tvoxcc.audit.chain import ChainCheck, Link, canonical, link_hash
from tvoxcc.store.engine import Store

A = audit.AuditAction


async def _write(store: Store, count: int) -> None:
    for i in range(count):
        await audit.record_now(
            store, actor="cli:alice", action=A.ADMIN_CHANGE, tenant="acme", subject=f"queues ~q{i}", detail={"i": i}
        )


async def _verify(store: Store) -> tuple[int, str | None]:
    async with store.session() as session:
        return await audit.verify(session)


async def _sql(store: Store, statement: str) -> None:
    async with store.session() as session:
        await session.execute(text(statement))
        await session.commit()


async def test_an_untouched_chain_verifies(store: Store) -> None:
    await _write(store, 5)
    assert await _verify(store) == (5, None)
    async with store.session() as session:
        rows = await audit.entries(session, tenant="acme")
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[3]["prev_hash"] == rows[2]["hash"] and rows[0]["prev_hash"] == ""


async def test_an_edited_row_is_named(store: Store) -> None:
    await _write(store, 5)
    await _sql(store, "UPDATE audit_log SET actor = 'cli:mallory' WHERE seq = 3")
    _count, problem = await _verify(store)
    assert problem == "row seq 3: content does not match its hash (edited)"


async def test_an_edited_detail_is_named(store: Store) -> None:
    await _write(store, 4)
    await _sql(store, """UPDATE audit_log SET detail = '{"i": 99}' WHERE seq = 2""")
    assert (await _verify(store))[1] == "row seq 2: content does not match its hash (edited)"


async def test_a_row_rehashed_after_editing_breaks_the_next_link(store: Store) -> None:
    """Someone who edits a row and recomputes its hash still breaks the row after it."""
    await _write(store, 4)
    async with store.session() as session:
        row = (await audit.entries(session))[1]
    forged = link_hash(
        row["prev_hash"], canonical(2, row["at"], "cli:mallory", row["action"], "acme", row["subject"], row["detail"])
    )
    await _sql(store, f"UPDATE audit_log SET actor = 'cli:mallory', hash = '{forged}' WHERE seq = 2")
    assert (await _verify(store))[1] == "row seq 3: does not link to row 2 (previous row edited or replaced)"


async def test_a_deleted_row_is_named(store: Store) -> None:
    await _write(store, 5)
    await _sql(store, "DELETE FROM audit_log WHERE seq = 2")
    assert (await _verify(store))[1] == "row seq 3: rows 2..2 are missing (deleted)"


async def test_deleting_the_last_rows_is_detected_by_the_head(store: Store) -> None:
    await _write(store, 5)
    await _sql(store, "DELETE FROM audit_log WHERE seq >= 4")
    assert (await _verify(store))[1] == "row seq 4: rows 4..5 are missing (deleted)"


async def test_concurrent_writers_never_fork_the_chain(store: Store) -> None:
    async def writer(n: int) -> None:
        for i in range(5):
            await audit.record_now(store, actor=f"w{n}", action=A.LOGIN, subject=str(i))

    await asyncio.gather(*(writer(n) for n in range(6)))
    count, problem = await _verify(store)
    assert (count, problem) == (30, None)
    async with store.session() as session:
        seqs = [r["seq"] for r in await audit.entries(session)]
    assert seqs == list(range(1, 31))


async def test_a_rolled_back_change_leaves_no_row(store: Store) -> None:
    async with store.session() as session:
        await audit.record(session, actor="x", action=A.ADMIN_CHANGE)
        await session.rollback()
    await _write(store, 1)
    assert await _verify(store) == (1, None)


def test_the_chain_check_reads_pages_like_one_list() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    prev, rows = "", []
    for seq in range(1, 4):
        h = link_hash(prev, canonical(seq, at, "a", "b", None, "", {}))
        rows.append(Link(seq, at, "a", "b", None, "", {}, prev, h))
        prev = h
    check = ChainCheck()
    assert all(check.feed(r) is None for r in rows)
    assert check.finish(3, prev) is None
    assert ChainCheck().finish(0, "") is None
    assert check.finish(2, prev) == "row seq 3: rows past the chain's head (seq 2) were added outside the log"


def test_cli_changes_imports_and_users_are_audited_and_tampering_fails_verify(tvox_any: Tvox, tmp_path: Path) -> None:
    tvox = tvox_any
    tvox.ok("tenant", "add", "acme")
    tvox.ok("service", "add", "-t", "acme", "sales", "--channel", "voice")
    tvox.ok("queue", "add", "-t", "acme", "q1", "--service", "sales")
    tvox.ok("queue", "set", "-t", "acme", "q1", "--wrapup-seconds", "30")
    tvox.ok("queue", "set", "-t", "acme", "q1", "--wrapup-seconds", "30")  # no change: no row
    doc = tmp_path / "acme.yaml"
    doc.write_text("tenant: {name: acme}\nskills: [{name: english}]\n")
    tvox.ok("import", str(doc))
    tvox("user", "add", "sup1", "--role", "supervisor", "-t", "acme", env={"TVOXCC_ACTOR": "bob"})
    rows = json.loads(tvox.ok("audit", "list", "--json", "-t", "acme"))
    assert [(r["action"], r["subject"]) for r in rows] == [
        ("admin.change", "tenant +acme"),
        ("admin.change", "services +sales"),
        ("admin.change", "queues +q1"),
        ("admin.change", "queues ~q1"),
        ("tenant.import", "skills +english"),
        ("admin.change", "users +sup1"),
    ]
    assert rows[-1]["actor"] == "cli:bob"
    assert [r["seq"] for r in json.loads(tvox.ok("audit", "list", "--json", "--actor", "cli:bob"))] == [6]
    assert json.loads(tvox.ok("audit", "list", "--json", "--since", "2999-01-01")) == []
    assert "6 rows" in tvox.ok("audit", "verify")

    url = _db_url(tvox)

    async def tamper() -> None:
        store = Store.from_url(url)
        try:
            await _sql(store, "UPDATE audit_log SET subject = 'queues ~nothing' WHERE seq = 4")
        finally:
            await store.dispose()

    asyncio.run(tamper())
    result = tvox("audit", "verify")
    assert result.exit_code == 1
    assert result.output.strip() == "error: audit log: row seq 4: content does not match its hash (edited)"
    bad = tvox("audit", "list", "--since", "yesterday")
    assert bad.exit_code != 0 and "is not a date" in bad.output


def _db_url(tvox: Tvox) -> str:
    from tvoxcc.config import load_settings

    return load_settings(tvox.config).database.url.get_secret_value()
