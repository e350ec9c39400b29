"""`tvoxcc db standby|synchronous|promote|replication` on two real PostgreSQL servers: a standby streamed from a
primary, made synchronous, promoted after the primary is killed under a writing load; every write acknowledged
before the kill is on the promoted server, and writers on a multi-host URL go on there by themselves."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.cli import Tvox, make_tvox
from tests.components import component_missing
from tests.servers.postgres import FAST, PostgresServer, find_pg_bin, run_postgres, server_base, start_postgres
from tvoxcc.acd import InputKind, send_input
from tvoxcc.store.engine import Store

AFTER_PROMOTION = 30


@pytest.fixture
def primary() -> Iterator[PostgresServer]:
    if find_pg_bin() is None:
        component_missing("PostgreSQL server not installed (apt-get install postgresql)")
    server = start_postgres({"synchronous_commit": "on"})  # the guarantee under test needs durable commits
    yield server
    server.stop()


def multi_host(*servers: PostgresServer) -> str:
    hosts = "&".join(f"host=127.0.0.1:{s.port}" for s in servers)
    return f"postgresql://postgres@/postgres?{hosts}&target_session_attrs=read-write"


def start_standby(tvox: Tvox, primary: PostgresServer) -> PostgresServer:
    base = server_base()
    data = base / "data"
    out = tvox.ok("db", "standby", "--primary", primary.url(), "--data", str(data))
    assert "standby tvoxcc_standby ready" in out
    standby = run_postgres(base, data, FAST)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        report = json.loads(tvox.ok("db", "replication", "--url", primary.url(), "--json"))
        if [s["state"] for s in report["standbys"]] == ["streaming"]:
            return standby
        time.sleep(0.1)
    standby.stop()
    raise AssertionError(f"the standby is not streaming: {report}")


def start_acd(tvox: Tvox) -> subprocess.Popen[str]:
    """`tvoxcc acd run` in its own process, routing once this returns."""
    env = {**os.environ, "TVOXCC_CONFIG": str(tvox.config)}
    acd = subprocess.Popen([sys.executable, "-m", "tvoxcc", "acd", "run"], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not json.loads(tvox.ok("acd", "status", "--json"))["acd"]["routing"]:
        assert time.monotonic() < deadline and acd.poll() is None, "the ACD did not start routing"
        time.sleep(0.1)
    return acd


def ticks_after(log: str, marker: str) -> bool:
    """A refresh tick logged after the line holding ``marker``."""
    _, found, rest = log.partition(marker)
    return bool(found) and "insight: tick" in rest


def waiting(tvox: Tvox) -> int:
    report = json.loads(tvox.ok("acd", "status", "--json"))
    return sum(int(row["waiting"]) for row in report["waiting"])


class Writer:
    """Work items submitted to the ACD's inputs in a loop through a multi-host URL, as a busy service would:
    what was acknowledged (committed) is remembered, a failed write is tried again."""

    def __init__(self, url: str, tenant_id: int) -> None:
        self.url, self.tenant_id = url, tenant_id
        self.acknowledged: list[str] = []
        self.errors = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._loop()))

    async def _loop(self) -> None:
        store = Store.from_url(self.url)
        try:
            while not self.stop.is_set():
                item = f"chat-{uuid.uuid4().hex[:12]}"
                try:
                    await send_input(
                        store, InputKind.SUBMIT, item_id=item, queue="acme/help", channel="chat",
                        tenant_id=self.tenant_id, ref=item, priority=0,
                    )  # fmt: skip
                except Exception:
                    self.errors += 1
                    await asyncio.sleep(0.05)
                    continue
                self.acknowledged.append(item)
        finally:
            await store.dispose()

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count:
            assert self.thread.is_alive() and time.monotonic() < deadline, (len(self.acknowledged), self.errors)
            time.sleep(0.02)


async def stored_items(url: str) -> set[str]:
    store = Store.from_url(url)
    try:
        async with store.session() as session:
            return {r[0] for r in await session.execute(text("SELECT item_id FROM acd_inputs"))}
    finally:
        await store.dispose()


def test_a_promoted_synchronous_standby_has_every_acknowledged_write(tmp_path: Path, primary: PostgresServer) -> None:
    tvox = make_tvox(tmp_path, primary.url())
    tvox.ok("tenant", "add", "acme")
    tvox.ok("service", "add", "-t", "acme", "support", "--channel", "chat")
    tvox.ok("queue", "add", "-t", "acme", "help", "--service", "support")
    standby = start_standby(tvox, primary)
    try:
        assert "commits wait for tvoxcc_standby" in tvox.ok("db", "synchronous", "on", "--url", primary.url())
        report = json.loads(tvox.ok("db", "replication", "--url", primary.url(), "--json"))
        assert report["synchronous_standby_names"] == '"tvoxcc_standby"'
        assert [s["sync_state"] for s in report["standbys"]] == ["sync"]
        assert json.loads(tvox.ok("db", "replication", "--url", standby.url(), "--json"))["role"] == "standby"

        multi = multi_host(primary, standby)
        tvox.config.write_text(tvox.config.read_text().replace(primary.url(), multi))  # every service on both hosts
        acd = start_acd(tvox)
        insight_log = tmp_path / "insight.log"
        insight = subprocess.Popen(
            [sys.executable, "-m", "tvoxcc", "insight", "run", "--every", "1"],
            env={**os.environ, "TVOXCC_CONFIG": str(tvox.config)},
            stderr=insight_log.open("w"),
        )
        deadline = time.monotonic() + 30
        while "insight: tick" not in insight_log.read_text():  # up and refreshing before the primary goes
            assert time.monotonic() < deadline and insight.poll() is None, insight_log.read_text()[-3000:]
            time.sleep(0.1)
        writer = Writer(multi, tenant_id=1)
        writer.thread.start()
        writer.wait_for(50)
        primary.crash()
        before = len(writer.acknowledged)
        time.sleep(2)  # a promotion is not instant: every service meets a store that takes no writes
        assert "now the primary" in tvox.ok("db", "promote", "--url", standby.url())
        try:
            writer.wait_for(before + AFTER_PROMOTION)
            writer.stop.set()
            writer.thread.join(30)
            # The same ACD process, back from standby on the promoted primary, has every stored item: the
            # acknowledged ones (checked below) and any whose commit landed while its answer was lost.
            stored = len(asyncio.run(stored_items(standby.url())))
            deadline = time.monotonic() + 30
            while waiting(tvox) != stored:
                assert time.monotonic() < deadline, (waiting(tvox), stored, len(writer.acknowledged))
                time.sleep(0.2)
            # insight run too: it stood by while no server took writes, then ticks again on the promoted one
            deadline = time.monotonic() + 30
            while not ticks_after(
                insight_log.read_text(), "tvoxcc.cluster.leader: insight: the database is unreachable"
            ):
                assert time.monotonic() < deadline and insight.poll() is None, insight_log.read_text()[-3000:]
                time.sleep(0.2)
        finally:
            insight.send_signal(signal.SIGTERM)
            insight.wait(10)
            acd.send_signal(signal.SIGTERM)
            _, err = acd.communicate(timeout=10)
        assert insight.returncode == 0 and "Traceback" not in insight_log.read_text()
        assert acd.returncode == 0, err
        assert "the database is unreachable" in err and "Traceback" not in err  # lived through it, in one line

        on_new_primary = asyncio.run(stored_items(standby.url()))
        missing = [item for item in writer.acknowledged if item not in on_new_primary]
        assert missing == [], f"{len(missing)} acknowledged writes lost"
        assert writer.errors > 0  # it did write through the failover, not around it
        promoted = json.loads(tvox.ok("db", "replication", "--url", standby.url(), "--json"))
        assert promoted["role"] == "primary" and promoted["synchronous_standby_names"] is None
    finally:
        standby.stop()


def test_bad_replication_requests_are_refused_in_one_line(tmp_path: Path, primary: PostgresServer) -> None:
    tvox = make_tvox(tmp_path, primary.url())
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("data")
    out = tvox.fails("db", "standby", "--primary", primary.url(), "--data", str(full))
    assert "is not empty" in out and (full / "keep.txt").read_text() == "data"
    assert "bad standby name" in tvox.fails("db", "standby", "--primary", primary.url(), "--data", "x", "--name", "A-b")
    assert "one host" in tvox.fails("db", "standby", "--primary", multi_host(primary), "--data", str(tmp_path / "y"))
    assert "not streaming" in tvox.fails("db", "synchronous", "on", "--url", primary.url())
    assert "already a primary" in tvox.fails("db", "promote", "--url", primary.url())
    gone = tvox.fails("db", "promote", "--url", "postgresql://postgres:s3cret@127.0.0.1:1/postgres")
    assert "127.0.0.1:1" in gone and "s3cret" not in gone and len(gone.strip().splitlines()) == 1
