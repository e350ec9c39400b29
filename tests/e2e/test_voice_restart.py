"""Killing the voice service with SIGKILL loses no caller: 20 in the IVR, or 5 waiting in a queue (in order)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.cli import Tvox
from tests.e2e.test_voice_acd import online
from tests.e2e.voice import interactions, path_of, wait_until_ended
from tvoxcc.lab.sipp import Sipp, SippAgent, caller_scenario
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

pytestmark = pytest.mark.asterisk

DATA = Path(__file__).parents[1] / "data"
CALLERS = 20
QUEUED = 5


def start_voice(lab: Any, log: Path, **settings: str) -> subprocess.Popen[bytes]:
    """``settings``: environment overrides (``TVOXCC_VOICE__...``)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tvoxcc", "voice", "run"],
        env={**lab.env(), **settings},
        stdin=subprocess.DEVNULL,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_ready(log: Path, times: int, within: float = 15.0) -> None:
    # Asterisk lists an app in /applications even with no websocket connected (an earlier run, a
    # SIGKILL): the service's own "ready" line is the only sure sign that it listens.
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if log.exists() and log.read_text().count("voice service ready") >= times:
            return
        time.sleep(0.1)
    raise AssertionError(f"voice service not ready after {within}s\n{log.read_text()[-3000:]}")


@pytest.fixture
def hold_flow(lab: Any) -> Iterator[Tvox]:
    tvox = Tvox(lab.config_path)
    tvox.ok("import", str(DATA / "e2e-acme.yaml"))
    tvox.ok("ivr", "set", "acme", "sales", str(DATA / "hold-ivr.yaml"))
    tvox.ok("prompts", "render", "-t", "acme", "--out", str(lab.state_dir / "root/usr/share/asterisk/sounds"))
    yield tvox
    tvox.ok("import", str(DATA / "e2e-acme.yaml"))  # the other voice tests' flow again


async def killed_with_callers_in_the_ivr(lab: Any, sipp: Any, log: Path, calls: int, wait_ms: int) -> tuple[Any, int]:
    """`voice run` started, ``calls`` callers held in the hold flow's IVR (their interactions stored, each at
    the menu), then the service SIGKILLed: the callers' sipp run, and how many interactions there were before."""
    before = len(await interactions(lab.settings))
    voice = start_voice(lab, log)
    try:
        wait_ready(log, 1)
        callers = sipp.start(
            caller_scenario("5551000", wait_ms=wait_ms, hangup="us"), service="5551000", timeout_s=60, calls=calls
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            rows = (await interactions(lab.settings))[before:]
            if len(rows) == calls and all("main" in path_of(r) for r in rows):
                break
            await asyncio.sleep(0.2)
        assert len(rows) == calls, log.read_text()[-3000:]  # noqa: ASYNC240 (a failure's message)
    finally:
        os.killpg(voice.pid, signal.SIGKILL)
        voice.wait(5)
    return callers, before


async def test_sigkill_with_20_callers_in_the_ivr(lab: Any, sipp: Any, hold_flow: Tvox, tmp_path: Path) -> None:
    log = tmp_path / "voice.log"
    callers, before = await killed_with_callers_in_the_ivr(lab, sipp, log, CALLERS, 16000)
    voice: subprocess.Popen[bytes] | None = None
    try:
        in_stasis = [c for c in lab.channels() if c["name"].startswith("PJSIP/caller-")]
        assert len(in_stasis) == CALLERS  # Asterisk kept every caller while we were gone

        voice = start_voice(lab, log)
        wait_ready(log, 2)
        assert f"{CALLERS} call(s) resumed" in log.read_text()
        finished = await asyncio.to_thread(callers.wait, 60)
        rows = (await wait_until_ended(lab.settings, len(await interactions(lab.settings)) - before))[before:]
    finally:
        if voice is not None and voice.poll() is None:
            os.killpg(voice.pid, signal.SIGTERM)
            voice.wait(10)

    # Every caller hung up by itself at the end of its scenario: none was hung up by us or by Asterisk.
    finished.check()
    assert len(rows) == CALLERS, "a resumed call must keep its interaction, not open a new one"
    for row in rows:
        kinds = [kind for kind, _ in row["events"]]
        assert "resumed" in kinds, row
        assert path_of(row).count("main") == 2  # the menu again after the restart
        assert row["ended"] and row["outcome"] == "abandoned-in-ivr"
    assert "resuming channel" in log.read_text()


@pytest.fixture
def alice(lab: Any, sipp: Sipp, hold_flow: Tvox) -> Iterator[SippAgent]:
    """acme's agent alice (sales-it, 3 s wrap-up), her phone not registered yet: nobody serves the queue."""
    hold_flow.ok("import", str(DATA / "e2e-acme-agents.yaml"))
    password = next(a.password for a in lab.agents if a.endpoint == "acme-alice")
    phone = SippAgent(sipp, "acme-alice", password)
    yield phone
    sipp.cleanup()  # a phone still waiting for a call holds its port: free it to unregister
    phone.unregister().check()


async def talking(lab: Any, other_than: list[str], within: float = 20.0) -> tuple[str, str]:
    """(agent leg, caller channel) once the ACD has bridged an agent to a caller; ``other_than``: earlier legs."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for bridge in lab.ari("bridges"):
            name, channels = bridge.get("name", ""), bridge["channels"]
            caller = name.removeprefix("tvoxcc-call-")
            leg = next((c for c in channels if c != caller), None)
            if name.startswith("tvoxcc-call-") and caller in channels and leg is not None and leg not in other_than:
                return leg, caller
        await asyncio.sleep(0.1)
    raise AssertionError(f"no agent was bridged to a caller: {lab.ari('bridges')}")


def queued_positions(row: dict[str, Any]) -> list[float]:
    """The position the router gave the call each time it entered the queue."""
    return [data["value"] for kind, data in row["events"] if kind == "item-queued"]


def first(row: dict[str, Any], kind: str) -> float:
    """Router time of the interaction's first event of ``kind``."""
    return float(next(data["router_at"] for k, data in row["events"] if k == kind))


async def live_version(lab: Any) -> int:
    """How many wallboard snapshots of tenant acme the voice services wrote so far."""
    store = Store.from_url(lab.settings.database.url.get_secret_value())
    try:
        async with store.session() as session:
            version = (
                await session.execute(
                    select(m.LiveTenant.version).join(m.Tenant, m.Tenant.id == m.LiveTenant.tenant_id)
                    .where(m.Tenant.name == "acme")
                )
            ).scalar_one_or_none()  # fmt: skip
    finally:
        await store.dispose()
    return int(version or 0)


async def live_queue(lab: Any, queue: str) -> tuple[int, float | None]:
    """What the voice service last wrote for the wallboard: callers waiting in ``queue``, oldest since when."""
    store = Store.from_url(lab.settings.database.url.get_secret_value())
    try:
        async with store.session() as session:
            row = (await session.execute(select(m.LiveQueue).where(m.LiveQueue.queue == queue))).scalar_one()
    finally:
        await store.dispose()
    oldest = row.oldest_at
    return row.waiting, None if oldest is None else oldest.replace(tzinfo=oldest.tzinfo or UTC).timestamp()


async def test_sigkill_with_5_callers_waiting_in_a_queue_keeps_their_order(
    lab: Any, sipp: Sipp, alice: SippAgent, tmp_path: Path
) -> None:
    log = tmp_path / "voice.log"
    before = len(await interactions(lab.settings))
    voice = start_voice(lab, log)
    callers = []
    try:
        wait_ready(log, 1)
        for digit in "11511":  # one after the other; the third is a VIP (priority 50): first in line
            scenario = caller_scenario("5551000", digit, wait_ms=800, hangup="them", bye_timeout_ms=110000)
            callers.append(sipp.start(scenario, service="5551000", timeout_s=120))
            await asyncio.sleep(0.7)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            rows = (await interactions(lab.settings))[before:]
            if len(rows) == QUEUED and all(queued_positions(r) for r in rows):
                break
            await asyncio.sleep(0.2)
        arrivals = [first(r, "item-queued") for r in rows]
        assert len(rows) == QUEUED and arrivals == sorted(arrivals), log.read_text()[-3000:]
        positions = [queued_positions(r)[0] for r in rows]
        assert positions == [1, 2, 1, 4, 5]  # as each entered: the VIP went before the first two
        line = [rows[i]["channel_id"] for i in (2, 0, 1, 3, 4)]
        await asyncio.sleep(1.0)  # they wait a little (announcements, music on hold)

        os.killpg(voice.pid, signal.SIGKILL)
        voice.wait(5)
        assert len([c for c in lab.channels() if c["name"].startswith("PJSIP/caller-")]) == QUEUED

        killed_at_version = await live_version(lab)
        voice = start_voice(lab, log)
        wait_ready(log, 2)
        assert f"{QUEUED} call(s) resumed" in log.read_text()
        # What the restarted service reports: the wallboard's row counts all five, the longest waiting since
        # before the kill; each re-entered the queue at the position it had (the VIP's priority kept).
        deadline = time.monotonic() + 10  # until the new run has written all five (its debounce), however slow
        while time.monotonic() < deadline:
            live = await live_queue(lab, "sales-it")
            if await live_version(lab) > killed_at_version and live[0] == QUEUED:
                break
            await asyncio.sleep(0.1)
        assert await live_version(lab) > killed_at_version, "the restarted service wrote no wallboard snapshot"
        assert live == (QUEUED, pytest.approx(arrivals[0], abs=0.5))
        rows = (await interactions(lab.settings))[before:]
        assert [queued_positions(r)[-1] for r in rows] == positions

        # Now alice's phone comes online: she takes them one by one and hangs up each after a word.
        await asyncio.to_thread(alice.register().check)
        await online(lab, "acme-alice")
        legs: list[str] = []
        served: list[str] = []
        for _ in range(QUEUED):
            answering = alice.answer(ring_ms=200)
            leg, caller = await talking(lab, legs)
            legs.append(leg)
            served.append(caller)
            lab.ari(f"channels/{leg}", "DELETE")
            (await asyncio.to_thread(answering.wait, 15)).check()  # the phone got the BYE
        for run in callers:
            (await asyncio.to_thread(run.wait, 30)).check()  # each caller was hung up by us after the talk
        rows = (await wait_until_ended(lab.settings, QUEUED))[before:]
    finally:
        if voice.poll() is None:
            os.killpg(voice.pid, signal.SIGTERM)
            voice.wait(10)

    assert all(r["ended"] and r["outcome"] == "answered" for r in rows), [r["outcome"] for r in rows]
    assert all("resumed" in [k for k, _ in r["events"]] for r in rows)  # the same interactions, resumed
    assert served == line, "the VIP, then the others oldest first"
