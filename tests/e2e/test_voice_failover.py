"""A redundant pair of `voice run` on one store: SIGKILL the active one, the standby routes the same calls.

On the lab: the active service and a standby (waiting for the ACD's lease); alice and bob each talking to a
caller, 20 callers waiting in sales-it, 5 more in the IVR. SIGKILL the active one: the standby takes the lease,
connects to Asterisk and takes back every call (tvoxcc.voice.acd_restart). Then: every caller is still there,
the waiting ones in the same order; the two talks go on and end normally (the callers hang up at the end of
their scenarios, the agents' phones see the BYE); the IVR callers finish their menu; the next free agents get
the oldest callers; `cluster status` names the standby as the active voice service. A monitor reads the ACD's
rows all along: no agent ever holds more offered or connected calls than its capacity (no double offer).
How long the takeover takes is bench/failover.py's figure, not a test's.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Tvox
from tests.e2e.test_voice_acd import online
from tests.e2e.test_voice_acd_kill import QUEUE, agent, line, phones, store, until  # noqa: F401  (fixtures)
from tests.e2e.test_voice_restart import start_voice, talking, wait_ready
from tvoxcc.acd import load
from tvoxcc.lab.sipp import Sipp, SippAgent, caller_scenario
from tvoxcc.store.engine import Store

pytestmark = pytest.mark.asterisk

WAITING = 20
IN_IVR = 5
TALK_MS = 30000


def text_of(log: Path) -> str:
    return log.read_text() if log.exists() else ""


async def wait_for_line(log: Path, text: str, process: Any, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while text not in await asyncio.to_thread(text_of, log):
        assert time.monotonic() < deadline and process.poll() is None, text_of(log)[-3000:]
        await asyncio.sleep(0.1)


class OfferMonitor:
    """Reads the ACD's rows every 0.1 s: the most calls any agent held at once (offered or connected)."""

    def __init__(self, db: Store) -> None:
        self.store = db
        self.most: dict[str, int] = {}
        self.reads = 0
        self.task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            try:
                stored = await load(self.store)
            except Exception:  # a read during the other process's write (SQLite busy): the next one
                await asyncio.sleep(0.1)
                continue
            held: dict[str, int] = {}
            for row in stored.items:
                if row["channel"] == "voice" and row["status"] in ("offered", "connected") and row["agent"]:
                    held[row["agent"]] = held.get(row["agent"], 0) + 1
            for name, count in held.items():
                self.most[name] = max(self.most.get(name, 0), count)
            self.reads += 1
            await asyncio.sleep(0.1)

    async def stop(self) -> dict[str, int]:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        return self.most


def voice_instances(lab: Any) -> list[dict[str, Any]]:
    report = json.loads(Tvox(lab.config_path).ok("cluster", "status", "--json"))
    return [row for row in report["instances"] if row["service"] == "voice"]


async def test_sigkill_of_the_active_voice_run_the_standby_takes_every_call(
    lab: Any,
    sipp: Sipp,
    phones: dict[str, SippAgent],  # noqa: F811  (the fixture imported above)
    store: Store,  # noqa: F811
    tmp_path: Path,
) -> None:
    active_log, standby_log = tmp_path / "active.log", tmp_path / "standby.log"
    active = start_voice(lab, active_log)
    standby = None
    monitor = OfferMonitor(store)
    try:
        wait_ready(active_log, 1)
        standby = start_voice(lab, standby_log)
        await wait_for_line(standby_log, "waits as a standby", standby)
        roles = {row["pid"]: row["role"] for row in await asyncio.to_thread(voice_instances, lab)}
        assert (roles[active.pid], roles[standby.pid]) == ("active", "standby")  # (a killed run's row: stale)

        for name in ("alice", "bob"):
            await asyncio.to_thread(phones[name].register().check)
            await online(lab, f"acme-{name}")
        await until(store, lambda s: all(agent(s, f"acme-{n}")["logged_in"] for n in ("alice", "bob")), "login")
        answering = [sipp.answer(p.user, port=p.port, bye_timeout_ms=TALK_MS + 20000) for p in phones.values()]
        talkers = sipp.start(
            caller_scenario("5551000", "1", wait_ms=800, hangup="us", hold_ms=TALK_MS),
            service="5551000", timeout_s=TALK_MS // 1000 + 40, calls=2,
        )  # fmt: skip
        leg_a, caller_a = await talking(lab, [])
        leg_b, caller_b = await talking(lab, [leg_a])
        callers = sipp.start(
            caller_scenario("5551000", "1", wait_ms=800, hangup="them", bye_timeout_ms=120000),
            service="5551000", timeout_s=150, calls=WAITING,
        )  # fmt: skip
        before = await until(store, lambda s: len(line(s, QUEUE, "voice")) == WAITING, f"{WAITING} callers waiting")
        ivr = sipp.start(
            caller_scenario("5551000", wait_ms=20000, hangup="us"), service="5551000", timeout_s=60, calls=IN_IVR
        )
        await asyncio.sleep(2.0)  # the IVR callers hear the menu

        os.killpg(active.pid, signal.SIGKILL)
        active.wait(5)
        await wait_for_line(standby_log, "voice service ready", standby, within=30)
        after = await load(store)
        assert line(after, QUEUE, "voice") == line(before, QUEUE, "voice"), "every caller at the same place"
        names = [c["name"] for c in lab.channels()]
        assert sum(n.startswith("PJSIP/caller-") for n in names) == WAITING + 2 + IN_IVR, "no call dropped"
        bridged = {frozenset(b["channels"]) for b in lab.ari("bridges") if b.get("name", "").startswith("tvoxcc-call")}
        assert {frozenset({leg_a, caller_a}), frozenset({leg_b, caller_b})} <= bridged, "the talks go on"
        status = json.loads(await asyncio.to_thread(Tvox(lab.config_path).ok, "acd", "status", "--json"))
        assert status["acd"]["routing"] and status["acd"]["pid"] == standby.pid
        roles = {row["pid"]: row["role"] for row in await asyncio.to_thread(voice_instances, lab)}
        assert roles[standby.pid] == "active" and roles.get(active.pid, "standby") == "standby"

        # the talks end as their callers planned: both phones saw the BYE, every talker's scenario succeeded
        await asyncio.to_thread(talkers.wait, TALK_MS / 1000 + 30)
        talkers.check()
        for run in answering:
            await asyncio.to_thread(run.wait, 30)
            run.check()
        await asyncio.to_thread(ivr.wait, 40)
        ivr.check()  # the IVR callers hung up by themselves: none was dropped
        # the agents free again (3 s wrap-up) get the two oldest callers, from the service that took over
        answering = [sipp.answer(p.user, port=p.port) for p in phones.values()]
        oldest = [row[0] for row in line(before, QUEUE, "voice")[:2]]
        _, first = await talking(lab, [leg_a, leg_b])
        first_leg = next(b for b in lab.ari("bridges") if first in b["channels"])
        leg_c = next(c for c in first_leg["channels"] if c != first)
        _, second = await talking(lab, [leg_a, leg_b, leg_c])
        assert {first, second} == set(oldest), "the next free agents get the oldest callers"
        served = await load(store)
        assert [r[0] for r in line(served, QUEUE, "voice")] == [r[0] for r in line(before, QUEUE, "voice")[2:]]
        for channel in lab.channels():
            if channel["name"].startswith("PJSIP/caller-"):
                lab.ari(f"channels/{channel['id']}", "DELETE")
        for run in answering:
            await asyncio.to_thread(run.wait, 30)
        await asyncio.to_thread(callers.wait, 30)
        await until(store, lambda s: not any(r["channel"] == "voice" for r in s.items), "callers gone")
        most = await monitor.stop()
        assert monitor.reads > 50 and set(most) == {"acme-alice", "acme-bob"}
        assert max(most.values()) == 1, f"an agent held two calls at once: {most}"
    finally:
        await monitor.stop()
        for process in (active, standby):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(10)
