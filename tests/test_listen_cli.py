"""`tvoxcc listen list` on SQLite and PostgreSQL: the sessions the voice service and the web app stored."""

from __future__ import annotations

import asyncio
import json
import tomllib
from datetime import UTC, datetime, timedelta

from tests.cli import Tvox
from tvoxcc.store.engine import Store
from tvoxcc.supervision.rights import Target
from tvoxcc.supervision.session import ListenSession, Mode, Origin, Refusal
from tvoxcc.supervision.store import ListenStore, Request

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _store_two(url: str) -> None:
    store = Store.from_url(url)
    try:
        listen = ListenStore(store)
        tenant_id = await listen.tenant_id("acme")
        assert tenant_id is not None
        alice = Target(tenant_id, "acme", "alice", "1001")
        refused = ListenSession(Mode.LISTEN, T0)
        refused.refuse(Refusal.NOT_SUPERVISOR, T0)
        asked = Request(Origin.PHONE, "acme", "al", None, "acme-bob", "1001", "1001", Mode.LISTEN)
        await listen.open(asked, refused, alice)
        later = T0 + timedelta(hours=1)
        session = ListenSession(Mode.LISTEN, later)
        session.authorise("bridge", later)
        session.digit("3", later + timedelta(seconds=5))
        row_id = await listen.open(Request(Origin.WEB, "acme", "sara", None, "acme-bob", "alice", "", Mode.LISTEN),
                                   session, alice)  # fmt: skip
        session.agent_left(later + timedelta(seconds=42))
        await listen.save(row_id, session)
    finally:
        await store.dispose()


def test_listen_list(tvox_any: Tvox) -> None:
    tvox_any.ok("tenant", "add", "acme")
    tvox_any.ok("tenant", "add", "beta")
    url = tomllib.loads(tvox_any.config.read_text())["database"]["url"]
    asyncio.run(_store_two(url))
    rows = json.loads(tvox_any.ok("listen", "list", "-t", "acme", "--json"))
    assert [(r["supervisor"], r["phase"], r["refused"]) for r in rows] == [
        ("sara", "ended", None),
        ("al", "refused", "not-supervisor"),
    ]  # newest first
    assert [c["mode"] for c in rows[0]["modes"]] == ["listen", "barge"]
    assert rows[0]["duration_s"] == 42.0 and rows[0]["end_reason"] == "call-ended" and rows[0]["origin"] == "web"
    table = tvox_any.ok("listen", "list", "-t", "acme")
    assert "listen>barge" in table and "refused: not-supervisor" in table and "call-ended" in table
    since = json.loads(tvox_any.ok("listen", "list", "-t", "acme", "--since", "2026-03-02 09:30:00", "--json"))
    assert [r["supervisor"] for r in since] == ["sara"]
    assert json.loads(tvox_any.ok("listen", "list", "-t", "beta", "--json")) == []
    assert "unknown tenant 'nope'" in tvox_any.fails("listen", "list", "-t", "nope")

    # every step of both sessions is one audit row, written with the row; the chain checks out
    audited = [r for r in json.loads(tvox_any.ok("audit", "list", "--json")) if r["action"].startswith("listen.")]
    refused_id, ended_id = rows[1]["id"], rows[0]["id"]
    assert [(r["action"], r["actor"], r["detail"]["session"]) for r in audited] == [
        ("listen.requested", "phone:al", refused_id),
        ("listen.refused", "phone:al", refused_id),
        ("listen.requested", "web:sara", ended_id),
        ("listen.started", "web:sara", ended_id),
        ("listen.mode", "web:sara", ended_id),
        ("listen.ended", "web:sara", ended_id),
    ]
    assert audited[1]["detail"]["reason"] == "not-supervisor" and audited[3]["detail"]["mode"] == "listen"
    assert audited[4]["detail"]["mode"] == "barge" and audited[5]["detail"]["reason"] == "call-ended"
    assert {r["tenant"] for r in audited} == {"acme"}
    assert tvox_any("audit", "verify").exit_code == 0
