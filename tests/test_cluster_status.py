"""`tvoxcc cluster status`: every instance's heartbeat row, its role from its role's lease, stale ones flagged.

Instances are what `voice run`, `support run`, `web run`… write (tvoxcc.cluster.Heartbeat); here several
"processes" are written from this one (each its own pid), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import tomllib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.cli import Tvox
from tvoxcc.acd import Lease
from tvoxcc.cluster import Heartbeat, ServiceKind
from tvoxcc.store.engine import Store

NOW = datetime.now(UTC)


def database(tvox: Tvox) -> str:
    return str(tomllib.loads(tvox.config.read_text())["database"]["url"])


async def instance(store: Store, service: ServiceKind, pid: int, *, lease: str = "", ago_s: float = 0.0) -> Heartbeat:
    """A heartbeat row of process ``pid`` of this host, last written ``ago_s`` seconds ago."""
    beat = Heartbeat(store, service, lease=lease, clock=lambda: datetime.now(UTC) - timedelta(seconds=ago_s))
    beat.pid = pid
    beat.instance = f"{beat.host}:{pid}:test"
    await beat.beat()
    return beat


async def acd_held_by(store: Store, pid: int, *, ttl_s: float = 60.0, clock_offset_s: float = 0.0) -> Lease:
    lease = Lease(store, lambda: datetime.now(UTC).timestamp() + clock_offset_s, ttl_s=ttl_s)
    lease.pid = pid
    assert await lease.try_acquire()
    await lease.abandon()  # the row stays as written (a process elsewhere holds it)
    return lease


def by_pid(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {row["pid"]: row for row in report["instances"]}


def test_roles_hosts_and_stale_instances(tvox_any: Tvox) -> None:
    assert json.loads(tvox_any.ok("cluster", "status", "--json")) == {"instances": [], "leases": []}
    assert "(none)" in tvox_any.ok("cluster", "status")

    async def setup() -> None:
        store = Store.from_url(database(tvox_any))
        try:
            await acd_held_by(store, 101)
            await instance(store, ServiceKind.VOICE, 101, lease="acd")  # the active voice service
            await instance(store, ServiceKind.VOICE, 102, lease="acd")  # its standby
            await instance(store, ServiceKind.WEB, 103)  # no lease: every web instance serves
            await instance(store, ServiceKind.SUPPORT, 104, lease="support", ago_s=600)  # killed 10 min ago
        finally:
            await store.dispose()

    asyncio.run(setup())
    report = json.loads(tvox_any.ok("cluster", "status", "--json"))
    rows = by_pid(report)
    assert {pid: (r["service"], r["role"], r["stale"]) for pid, r in rows.items()} == {
        101: ("voice", "active", False),
        102: ("voice", "standby", False),
        103: ("web", "active", False),
        104: ("support", "standby", True),
    }
    assert rows[104]["heartbeat_age_s"] >= 600 > rows[101]["heartbeat_age_s"]
    assert report["leases"] == [
        {"lease": "acd", "held": True, "host": rows[101]["host"], "pid": 101,
         "since": report["leases"][0]["since"], "expires_at": report["leases"][0]["expires_at"]}
    ]  # fmt: skip
    text = tvox_any.ok("cluster", "status")
    lines = {line.split()[3]: line for line in text.splitlines() if line.split()[3:4] and line.split()[3].isdigit()}
    assert lines["101"].split()[:2] == ["voice", "active"] and " ok " in lines["101"]
    assert lines["102"].split()[:2] == ["voice", "standby"]
    assert " stale " in lines["104"] and "stale: no heartbeat" in text
    assert f"lease acd: {rows[101]['host']} pid 101" in text


def test_an_expired_lease_makes_its_holder_a_standby_and_a_clean_stop_removes_the_row(tvox_any: Tvox) -> None:
    async def setup() -> Heartbeat:
        store = Store.from_url(database(tvox_any))
        try:
            await acd_held_by(store, 201, ttl_s=5, clock_offset_s=-60)  # renewed a minute ago, for 5 s
            await instance(store, ServiceKind.ACD, 201, lease="acd")
            return await instance(store, ServiceKind.INSIGHT, 202, lease="insight")
        finally:
            await store.dispose()

    insight = asyncio.run(setup())
    report = json.loads(tvox_any.ok("cluster", "status", "--json"))
    assert by_pid(report)[201]["role"] == "standby"  # its lease ran out: nobody routes
    assert report["leases"][0]["held"] is False
    assert "(expired)" in tvox_any.ok("cluster", "status")

    async def stop() -> None:
        insight.store = Store.from_url(database(tvox_any))
        try:
            await insight.stop()
        finally:
            await insight.store.dispose()

    asyncio.run(stop())
    assert set(by_pid(json.loads(tvox_any.ok("cluster", "status", "--json")))) == {201}


@pytest.mark.parametrize("args", [("--bogus",), ("extra",)])
def test_bad_input_is_refused(tvox_any: Tvox, args: tuple[str, ...]) -> None:
    result = tvox_any("cluster", "status", *args)
    assert result.exit_code != 0 and "Traceback" not in result.output
