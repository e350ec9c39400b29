"""`kill -9` of `voice run` (the ACD embedded) with 30 callers waiting and 50 tickets: nothing moves.

Set-up on the lab: alice's phone registered and paused with a code, bob's registered and in a 30 s wrap-up (a
ticket of sales-backup, which only he serves), mara (no phone, mail only, capacity 10) logged in; 30 callers
waiting in sales-it (one sipp process) and 50 tickets submitted as mail items taken at once (``auto_accept``)
through the store, as another process does: mara holds 10, 40 wait. After SIGKILL and a restart the rows
(what ``tvoxcc acd status`` reads) say the same: every caller in the same queue at the same place, alice
paused with her code, bob in wrap-up until the same end, mara's tickets in her hands; when bob's wrap-up
ends his phone rings with the oldest caller.

An agent's answer may wait uncommitted (the ACD's linger) when the service is killed: the caller, talking to
alice, is still talking to her after the restart (Asterisk's bridge says so), and the rows say so.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from tests.cli import Tvox
from tests.e2e.test_voice_acd import online
from tests.e2e.test_voice_restart import start_voice, talking, wait_ready
from tests.e2e.voice import wait_until_ended
from tvoxcc.acd import InputKind, Stored, load, send_input
from tvoxcc.lab.sipp import Sipp, SippAgent, caller_scenario
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

pytestmark = pytest.mark.asterisk

DATA = Path(__file__).parents[1] / "data"
CALLERS = 30
TICKETS = 50
MARA_CAPACITY = 10
QUEUE, BACKUP = "acme/sales-it", "acme/sales-backup"


@pytest.fixture
async def store(lab: Any) -> AsyncIterator[Store]:
    db = Store.from_url(lab.settings.database.url.get_secret_value())
    yield db
    async with db.session() as session:  # no ACD runs now: the next test's starts from the configuration
        for table in (m.AcdItem, m.AcdAgent, m.AcdQueue):
            await session.execute(delete(table))
        await session.commit()
    await db.dispose()


@pytest.fixture
def phones(lab: Any, sipp: Sipp) -> Iterator[dict[str, SippAgent]]:
    tvox = Tvox(lab.config_path)
    tvox.ok("import", str(DATA / "e2e-acme.yaml"))
    tvox.ok("ivr", "set", "acme", "sales", str(DATA / "hold-ivr.yaml"))
    tvox.ok("import", str(DATA / "e2e-acme-restart.yaml"))
    tvox.ok("prompts", "render", "-t", "acme", "--out", str(lab.state_dir / "root/usr/share/asterisk/sounds"))
    password = next(a.password for a in lab.agents if a.endpoint == "acme-alice")
    agents = {name: SippAgent(sipp, f"acme-{name}", password) for name in ("alice", "bob")}
    yield agents
    sipp.cleanup()
    for agent in agents.values():
        agent.unregister().check()
    tvox.ok("import", str(DATA / "e2e-acme.yaml"))  # the other voice tests' flow again


async def until(store: Store, check: Any, what: str, within: float = 20.0) -> Stored:
    deadline = time.monotonic() + within
    while True:
        stored = await load(store)
        if check(stored):
            return stored
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within} s\n{stored.items[:5]}\n{stored.agents}")
        await asyncio.sleep(0.2)


def agent(stored: Stored, agent_id: str) -> dict[str, Any]:
    return next(row for row in stored.agents if row["agent_id"] == agent_id)


def line(stored: Stored, queue: str, channel: str) -> list[tuple[str, int, float, int]]:
    """The items waiting in ``queue`` on ``channel``, best first, with what places them (priority, arrival, seq)."""
    waiting = [r for r in stored.items if r["queue"] == queue and r["channel"] == channel and r["status"] == "waiting"]
    return [(r["item_id"], r["priority"], r["arrived_at"], r["seq"]) for r in sorted(
        waiting, key=lambda r: (-r["priority"], r["arrived_at"], r["seq"]))]  # fmt: skip


def in_hand(stored: Stored, agent_id: str) -> set[str]:
    return {r["item_id"] for r in stored.items if r["status"] == "connected" and r["agent"] == agent_id}


async def test_kill_9_keeps_callers_places_agents_states_and_tickets(
    lab: Any, sipp: Sipp, phones: dict[str, SippAgent], store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "voice.log"
    voice = start_voice(lab, log)
    try:
        wait_ready(log, 1)
        for name in ("alice", "bob"):
            await asyncio.to_thread(phones[name].register().check)
            await online(lab, f"acme-{name}")
        await send_input(store, InputKind.LOGIN, agent_id="acme-mara")
        await until(store, lambda s: all(agent(s, f"acme-{n}")["logged_in"] for n in ("alice", "bob", "mara")), "login")
        await send_input(store, InputKind.PAUSE, agent_id="acme-alice", code="lunch")
        # bob's ticket: taken at once (only he serves sales-backup), done: 30 s of wrap-up
        await send_input(store, InputKind.SUBMIT, item_id="mail-bob", queue=BACKUP, channel="mail", tenant_id=None,
                         ref="T-bob", auto_accept=True)  # fmt: skip
        await until(store, lambda s: in_hand(s, "acme-bob") == {"mail-bob"}, "bob's ticket")
        await send_input(store, InputKind.COMPLETE, item_id="mail-bob")
        await until(store, lambda s: agent(s, "acme-bob")["status"] == "wrap-up", "bob's wrap-up")

        scenario = caller_scenario("5551000", "1", wait_ms=800, hangup="them", bye_timeout_ms=120000)
        callers = sipp.start(scenario, service="5551000", timeout_s=150, calls=CALLERS)
        for n in range(TICKETS):
            await send_input(store, InputKind.SUBMIT, item_id=f"mail-t{n:02d}", queue=QUEUE, channel="mail",
                             ref=f"T-{n}", auto_accept=True)  # fmt: skip
        before = await until(
            store,
            lambda s: len(line(s, QUEUE, "voice")) == CALLERS and len(in_hand(s, "acme-mara")) == MARA_CAPACITY,
            "30 callers waiting and mara's tickets",
        )
        assert len(line(before, QUEUE, "mail")) == TICKETS - MARA_CAPACITY
        alice, bob = agent(before, "acme-alice"), agent(before, "acme-bob")
        assert (alice["status"], alice["pause_code"]) == ("paused", "lunch")
        assert bob["status"] == "wrap-up" and bob["wrapup_until"] > time.time() + 10, bob

        os.killpg(voice.pid, signal.SIGKILL)
        voice.wait(5)
        assert len([c for c in lab.channels() if c["name"].startswith("PJSIP/caller-")]) == CALLERS

        voice = start_voice(lab, log)
        wait_ready(log, 2)
        after = await load(store)
        status = json.loads(await asyncio.to_thread(Tvox(lab.config_path).ok, "acd", "status", "--json"))
        assert status["acd"]["routing"] and status["acd"]["pid"] == voice.pid, status["acd"]
        assert line(after, QUEUE, "voice") == line(before, QUEUE, "voice"), "every caller at the same place"
        assert line(after, QUEUE, "mail") == line(before, QUEUE, "mail")
        assert in_hand(after, "acme-mara") == in_hand(before, "acme-mara"), "mara's tickets stay hers"
        alice_after, bob_after = agent(after, "acme-alice"), agent(after, "acme-bob")
        assert (alice_after["status"], alice_after["pause_code"]) == ("paused", "lunch")
        assert bob_after["status"] == "wrap-up" and bob_after["wrapup_until"] == bob["wrapup_until"]
        assert f"restored {len(before.items)} item(s)" in log.read_text()  # callers and tickets, from the rows
        waiting = {row["queue"]: row["waiting"] for row in status["waiting"] if row["channel"] == "voice"}
        assert waiting == {QUEUE: CALLERS}

        # bob's wrap-up ends at its time, not earlier: then his phone rings with the oldest caller
        answering = phones["bob"].answer(ring_ms=200)
        mid = await load(store)
        if time.time() < bob["wrapup_until"] - 1:
            assert agent(mid, "acme-bob")["status"] == "wrap-up"
        _, caller = await talking(lab, [], within=bob["wrapup_until"] - time.time() + 15)
        assert time.time() >= bob["wrapup_until"]
        oldest = line(before, QUEUE, "voice")[0][0]
        assert caller == oldest, "the next free agent gets the oldest caller"
        served = await until(store, lambda s: oldest in in_hand(s, "acme-bob"), "bob serves the oldest caller")
        assert [r[0] for r in line(served, QUEUE, "voice")] == [r[0] for r in line(before, QUEUE, "voice")[1:]]
        assert agent(served, "acme-alice")["pause_code"] == "lunch"
        for channel in lab.channels():  # the callers and bob's call end here; the service closes them
            if channel["name"].startswith("PJSIP/caller-"):
                lab.ari(f"channels/{channel['id']}", "DELETE")
        await asyncio.to_thread(answering.wait, 30)
        await asyncio.to_thread(callers.wait, 30)
        await until(store, lambda s: not any(r["channel"] == "voice" for r in s.items), "callers gone")
    finally:
        if voice.poll() is None:
            os.killpg(voice.pid, signal.SIGTERM)
            voice.wait(10)


async def test_a_second_voice_run_waits_as_a_standby_until_the_first_stops(lab: Any, tmp_path: Path) -> None:
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start_voice(lab, first_log)
    second = None
    try:
        wait_ready(first_log, 1)
        second = start_voice(lab, second_log)
        deadline = time.monotonic() + 15
        while "waits as a standby" not in (second_log.read_text() if second_log.exists() else ""):
            assert time.monotonic() < deadline and second.poll() is None, second_log.read_text()[-2000:]
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        assert "voice service ready" not in second_log.read_text()  # no call is taken while it waits
        os.killpg(first.pid, signal.SIGTERM)  # a clean stop gives the lease up: the standby takes over at once
        first.wait(10)
        wait_ready(second_log, 1)
        status = json.loads(await asyncio.to_thread(Tvox(lab.config_path).ok, "acd", "status", "--json"))
        assert status["acd"]["pid"] == second.pid
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(10)


async def test_kill_9_before_an_answer_is_committed_keeps_the_caller_talking(
    lab: Any, sipp: Sipp, phones: dict[str, SippAgent], store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "voice.log"
    linger = {"TVOXCC_VOICE__ACD_LINGER_SECONDS": "3600"}  # alice's answer stays uncommitted until the kill
    voice = start_voice(lab, log, **linger)
    try:
        wait_ready(log, 1)
        await asyncio.to_thread(phones["alice"].register().check)
        await online(lab, "acme-alice")
        answering = phones["alice"].answer(ring_ms=200)
        scenario = caller_scenario("5551000", "1", wait_ms=800, hangup="them", bye_timeout_ms=120000)
        calling = sipp.start(scenario, service="5551000", timeout_s=150)
        leg, caller = await talking(lab, [])
        killed = await until(store, lambda s: any(r["item_id"] == caller for r in s.items), "the caller's row")
        row = next(r for r in killed.items if r["item_id"] == caller)
        assert (row["status"], row["offered_to"]) == ("offered", ["acme-alice"]), "the answer must be uncommitted"

        os.killpg(voice.pid, signal.SIGKILL)
        voice.wait(5)
        voice = start_voice(lab, log, **linger)
        wait_ready(log, 2)
        assert "1 call(s) resumed" in log.read_text().rsplit("ACD: routing", 1)[1]
        assert in_hand(await load(store), "acme-alice") == {caller}, "restored as connected to alice"
        assert f"call {caller} still talks to acme-alice" in log.read_text()
        bridge = next(b for b in lab.ari("bridges") if b.get("name") == f"tvoxcc-call-{caller}")
        assert sorted(bridge["channels"]) == sorted([caller, leg]), "the caller stays in the agent's bridge"
        assert leg in {c["id"] for c in lab.channels()}, "alice's leg is not hung up"

        lab.ari(f"channels/{leg}", "DELETE")  # alice hangs up: the call ends, answered
        (await asyncio.to_thread(answering.wait, 30)).check()
        (await asyncio.to_thread(calling.wait, 30)).check()  # the caller was hung up by us after the talk
        await until(store, lambda s: not any(r["channel"] == "voice" for r in s.items), "the call ended")
        row = next(r for r in await wait_until_ended(lab.settings, 1) if r["channel_id"] == caller)
        assert row["ended"] and row["outcome"] == "answered", row
    finally:
        if voice.poll() is None:
            os.killpg(voice.pid, signal.SIGTERM)
            voice.wait(10)
