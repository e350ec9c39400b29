"""A recorded queue call outlives a restart of the voice service, and so does its recording (tenant reck, DID
5557500): killed (SIGKILL) mid-call and started again, the service takes back the bridge recording Asterisk kept
running (found through ARI by the name the service gives it) and stores it when the call ends; a call that ended
while no service ran has its recording (finished on Asterisk) stored at the restart. Either way the
recording is in `recording list` with the call's row, lasting the talk."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
import urllib.error
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from tests.cli import Tvox
from tests.e2e.test_voice_acd import online
from tests.e2e.test_voice_restart import start_voice, talking, wait_ready
from tvoxcc.asterisk.inputs import AgentPhone, Did
from tvoxcc.lab.sipp import Sipp, SippAgent, caller_scenario
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

pytestmark = pytest.mark.asterisk

DATA = Path(__file__).parents[1] / "data"
DID, TENANT = "5557500", "reck"


@pytest.fixture(scope="module")
def reck(lab: Any) -> Iterator[Any]:
    Tvox(lab.config_path).ok("import", str(DATA / "e2e-reck.yaml"))
    before = lab.current
    password = lab.agents[0].password
    lab.reload(
        lab.render_input(
            agents=(*lab.agents, AgentPhone(TENANT, "ada", "1001", password, "Ada Reck")),
            dids=(*lab.dids, Did(DID, TENANT, "sales")),
        )
    )
    yield lab
    lab.reload(before)


@pytest.fixture
async def store(reck: Any) -> AsyncIterator[Store]:
    db = Store.from_url(reck.settings.database.url.get_secret_value())
    yield db
    async with db.session() as session:  # no ACD runs now: the next test's starts from the configuration
        for table in (m.AcdItem, m.AcdAgent, m.AcdQueue):
            await session.execute(delete(table))
        await session.commit()
    await db.dispose()


@pytest.fixture
def ada(reck: Any, sipp: Sipp) -> Iterator[SippAgent]:
    phone = SippAgent(sipp, f"{TENANT}-ada", reck.agents[0].password)
    yield phone
    sipp.cleanup()
    phone.unregister().check()


async def call_row(store: Store, caller: str, within: float = 20.0) -> m.Interaction:
    """The caller's interaction once it ended."""
    deadline = time.monotonic() + within
    while True:
        async with store.session() as session:
            row = (await session.execute(select(m.Interaction).where(m.Interaction.external_id == caller))).scalar()
        if row is not None and row.ended_at is not None:
            return row
        assert time.monotonic() < deadline, f"the call of {caller} did not end: {row}"
        await asyncio.sleep(0.2)


async def listed(reck: Any, interaction_id: int, within: float = 20.0) -> dict[str, Any]:
    """The call's row in `recording list`, once the restarted service stored it."""
    tvox = Tvox(reck.config_path)
    deadline = time.monotonic() + within
    while True:
        rows = json.loads(await asyncio.to_thread(tvox.ok, "recording", "list", "-t", TENANT, "--json"))
        found = [r for r in rows if r["interaction_id"] == interaction_id]
        if found:
            return dict(found[0])
        assert time.monotonic() < deadline, f"no recording of interaction {interaction_id}: {rows}"
        await asyncio.sleep(0.3)


async def recorded_call(reck: Any, sipp: Sipp, ada: SippAgent, log: Path) -> tuple[Any, Any, str, str, float]:
    """ada online and answering, a caller talking to her in a recorded bridge: (phone run, caller run, agent leg,
    caller channel, when they were bridged)."""
    await asyncio.to_thread(ada.register().check)
    await online(reck, f"{TENANT}-ada")
    answering = ada.answer(ring_ms=200)
    await asyncio.sleep(1.5)  # sipp listening on the phone's port before the queue (the IVR's first node) rings it
    calling = sipp.start(
        caller_scenario(DID, wait_ms=500, hangup="them", bye_timeout_ms=60000), service=DID, timeout_s=90
    )
    leg, caller = await talking(reck, [])
    bridged = time.monotonic()
    name = f"tvoxcc-call-{caller}".replace(".", "-")
    deadline = time.monotonic() + 10
    while not any(r["name"] == name and r["state"] == "recording" for r in live_recordings(reck)):
        assert time.monotonic() < deadline, "the bridge is not recorded"
        await asyncio.sleep(0.1)
    return answering, calling, leg, caller, bridged


def live_recordings(lab: Any) -> list[dict[str, Any]]:
    """Asterisk's live recordings, from each bridge's (a 404 is no recording)."""
    found = []
    for bridge in lab.ari("bridges"):
        name = f"{bridge.get('name', '')}".replace(".", "-")
        if name.startswith("tvoxcc-call-"):
            with contextlib.suppress(urllib.error.HTTPError):
                found.append(lab.ari(f"recordings/live/{name}"))
    return found


def kill(voice: Any) -> None:
    os.killpg(voice.pid, signal.SIGKILL)
    voice.wait(5)


async def test_a_call_recorded_across_a_kill_is_stored_when_it_ends(
    reck: Any, sipp: Sipp, ada: SippAgent, store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "voice.log"
    voice = start_voice(reck, log)
    try:
        wait_ready(log, 1, within=40.0)
        answering, calling, leg, caller, _ = await recorded_call(reck, sipp, ada, log)
        await asyncio.sleep(2.0)
        kill(voice)
        await asyncio.sleep(2.0)  # Asterisk records on with no service
        voice = start_voice(reck, log)
        wait_ready(log, 2, within=40.0)
        assert f"call {caller} still talks to {TENANT}-ada" in log.read_text()
        await asyncio.sleep(2.0)
        reck.ari(f"channels/{leg}", "DELETE")  # ada hangs up: the call ends, the bridge goes, the recording ends
        (await asyncio.to_thread(answering.wait, 30)).check()
        (await asyncio.to_thread(calling.wait, 30)).check()
        row = await call_row(store, caller)
        stored = await listed(reck, row.id)
    finally:
        if voice.poll() is None:
            os.killpg(voice.pid, signal.SIGTERM)
            voice.wait(10)
    name = f"tvoxcc-call-{caller}".replace(".", "-")
    assert row.outcome == "answered" and row.recording == name
    assert row.answered_at is not None and row.ended_at is not None
    talked = (row.ended_at - row.answered_at).total_seconds()
    assert talked > 6.0  # before, during and after the time with no service
    assert abs(stored["duration_s"] - talked) <= 1.0, (stored, talked)  # the whole talk, one file
    assert (stored["queue"], stored["agent"], stored["format"]) == ("rec-q", "ada", "wav")
    assert "taken back after a restart" in log.read_text()
    assert not any(r["name"] == name for r in reck.ari("recordings/stored"))  # moved, not copied


async def test_a_call_that_ended_while_no_service_ran_has_its_recording_stored_at_the_restart(
    reck: Any, sipp: Sipp, ada: SippAgent, store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "voice.log"
    voice = start_voice(reck, log)
    try:
        wait_ready(log, 1, within=40.0)
        answering, calling, leg, caller, bridged = await recorded_call(reck, sipp, ada, log)
        await asyncio.sleep(3.0)
        kill(voice)
        for channel in (leg, caller):  # both hang up while no service runs: Asterisk ends the recording
            reck.ari(f"channels/{channel}", "DELETE")
        ended = time.monotonic()
        (await asyncio.to_thread(answering.wait, 30)).check()
        (await asyncio.to_thread(calling.wait, 30)).check()
        await asyncio.sleep(1.0)
        voice = start_voice(reck, log)
        wait_ready(log, 2, within=40.0)
        row = await call_row(store, caller)
        stored = await listed(reck, row.id)
        name = f"tvoxcc-call-{caller}".replace(".", "-")
        assert not any(b.get("name") == name for b in reck.ari("bridges"))  # ended at the restart
    finally:
        if voice.poll() is None:
            os.killpg(voice.pid, signal.SIGTERM)
            voice.wait(10)
    assert row.outcome == "answered" and row.recording == name
    # The file lasts the talk (from the bridge to the hang-ups), not the time until the restart.
    assert abs(stored["duration_s"] - (ended - bridged)) <= 1.0, (stored, ended - bridged)
    assert (stored["queue"], stored["agent"]) == ("rec-q", "ada")
    assert "finished while no service ran" in log.read_text()
    assert not any(r["name"] == name for r in reck.ari("recordings/stored"))
