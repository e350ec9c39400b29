"""Each leg recorded apart (a queue's record_legs) on the lab, tenant reck (DID 5557500): the caller's sipp phone
plays a 400 Hz tone, the agent's a 1500 Hz one. Besides the bridge's mixed recording the call has one of the
caller alone and one of the agent alone, each with its own row in `recording list` linked to the call; measured
per frequency, each party's file holds its own tone and not the other's, the mixed one both."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Tvox
from tests.e2e.test_recording_restart import DID, TENANT, ada, call_row, listed, reck, store  # noqa: F401  (fixtures)
from tests.e2e.test_voice_acd import online
from tests.e2e.test_voice_restart import start_voice, talking, wait_ready
from tvoxcc.lab.sipp import Sipp, SippAgent, caller_scenario
from tvoxcc.lab.tone import tone_pcap, tone_share, wav_samples
from tvoxcc.store.engine import Store
from tvoxcc.voice.call_recordings import recording_name

pytestmark = pytest.mark.asterisk

CALLER_HZ, AGENT_HZ = 400.0, 1500.0
OWN, OTHER = 0.3, 0.05  # shares of a file's energy: its party's tone at least, the other party's at most


@pytest.fixture
def legs_apart(reck: Any) -> Iterator[Tvox]:  # noqa: F811
    tvox = Tvox(reck.config_path)
    tvox.ok("queue", "set", "-t", TENANT, "rec-q", "--record-legs")
    yield tvox
    tvox.ok("queue", "set", "-t", TENANT, "rec-q", "--no-record-legs")


async def all_recording(lab: Any, name: str, within: float = 15.0) -> None:
    """Until Asterisk records the call's bridge and both parties' snoops."""
    deadline = asyncio.get_running_loop().time() + within
    for each in (name, f"{name}-caller", f"{name}-agent"):
        while True:
            with contextlib.suppress(urllib.error.HTTPError):
                if lab.ari(f"recordings/live/{each}")["state"] == "recording":
                    break
            assert asyncio.get_running_loop().time() < deadline, f"{each} is not recorded"
            await asyncio.sleep(0.1)


async def recorded_apart(
    lab: Any, sipp: Sipp, phone: SippAgent, db: Store, tvox: Tvox, tmp_path: Path, *, kill_after: float | None
) -> tuple[dict[str, dict[str, Any]], float, str]:
    """A call of the caller's 400 Hz and the agent's 1500 Hz; with ``kill_after``, voice run is killed that long
    into the talk and started again. The call's recordings by leg, its talk in seconds, the service's log."""
    caller_tone = tone_pcap(tmp_path / "caller.pcap", CALLER_HZ, 30)
    agent_tone = tone_pcap(tmp_path / "agent.pcap", AGENT_HZ, 30)
    log = tmp_path / "voice.log"
    voice = start_voice(lab, log)
    try:
        wait_ready(log, 1, within=40.0)
        await asyncio.to_thread(phone.register().check)
        await online(lab, f"{TENANT}-ada")
        answering = phone.answer(ring_ms=200, tone=agent_tone)
        await asyncio.sleep(1.5)  # sipp listening before the queue rings the phone
        hold_ms = 8000 if kill_after is None else 16000
        calling = sipp.start(caller_scenario(DID, wait_ms=500, hold_ms=hold_ms, tone=caller_tone), service=DID)
        _, caller = await talking(lab, [])
        if kill_after is not None:
            await all_recording(lab, recording_name(caller))  # killed once the three run, not between two
            await asyncio.sleep(kill_after)
            os.killpg(voice.pid, signal.SIGKILL)
            voice.wait(5)
            voice = start_voice(lab, log)
            wait_ready(log, 2, within=40.0)
        (await asyncio.to_thread(calling.wait, 60)).check()  # the caller hangs up after its hold
        (await asyncio.to_thread(answering.wait, 30)).check()
        row = await call_row(db, caller)
        await listed(lab, row.id)
        deadline = asyncio.get_running_loop().time() + 20
        while True:  # the three files come as their recordings finish
            rows = json.loads(await asyncio.to_thread(tvox.ok, "recording", "list", "-t", TENANT, "--json"))
            mine = {r["leg"]: r for r in rows if r["interaction_id"] == row.id}
            if len(mine) == 3 or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.3)
    finally:
        if voice.poll() is None:
            os.killpg(voice.pid, signal.SIGTERM)
            voice.wait(10)
    assert sorted(mine) == ["agent", "caller", "mixed"], (mine, log.read_text()[-2000:])
    assert row.answered_at is not None and row.ended_at is not None
    return mine, (row.ended_at - row.answered_at).total_seconds(), log.read_text()


async def tone_shares(tvox: Tvox, mine: dict[str, dict[str, Any]], folder: Path) -> dict[str, tuple[float, float]]:
    """Each file's share of energy at the caller's and at the agent's frequency."""
    shares = {}
    for leg, listed_row in mine.items():
        out = folder / f"{leg}.wav"
        await asyncio.to_thread(tvox.ok, "recording", "export", "-t", TENANT, str(listed_row["id"]), "--out", str(out))
        samples = wav_samples(out.read_bytes())
        shares[leg] = (tone_share(samples, CALLER_HZ), tone_share(samples, AGENT_HZ))
    return shares


def each_holds_its_party(shares: dict[str, tuple[float, float]]) -> None:
    caller_share, agent_share = shares["caller"], shares["agent"]
    assert caller_share[0] >= OWN and caller_share[1] <= OTHER, shares  # the caller alone
    assert agent_share[1] >= OWN and agent_share[0] <= OTHER, shares  # the agent alone
    assert min(shares["mixed"]) >= OTHER, shares  # the bridge: both


async def test_each_leg_is_recorded_apart_with_its_own_party(
    reck: Any,  # noqa: F811
    sipp: Sipp,
    ada: SippAgent,  # noqa: F811
    store: Store,  # noqa: F811
    legs_apart: Tvox,
    tmp_path: Path,
) -> None:
    mine, talked, _ = await recorded_apart(reck, sipp, ada, store, legs_apart, tmp_path, kill_after=None)
    assert {(r["queue"], r["agent"]) for r in mine.values()} == {("rec-q", "ada")}
    for leg, listed_row in mine.items():
        assert abs(listed_row["duration_s"] - talked) <= 1.5, (leg, listed_row, talked)
    each_holds_its_party(await tone_shares(legs_apart, mine, tmp_path))


async def test_each_leg_goes_on_recording_across_a_kill_of_voice_run(
    reck: Any,  # noqa: F811
    sipp: Sipp,
    ada: SippAgent,  # noqa: F811
    store: Store,  # noqa: F811
    legs_apart: Tvox,
    tmp_path: Path,
) -> None:
    """The parties' snoops are left alone by the restart (not hung up as a listen session's would be) and their
    recordings taken back with the mixed one: all three last the whole talk."""
    mine, talked, log = await recorded_apart(reck, sipp, ada, store, legs_apart, tmp_path, kill_after=2.0)
    assert talked > 10.0
    for leg, listed_row in mine.items():
        assert abs(listed_row["duration_s"] - talked) <= 1.5, (leg, listed_row, talked)
    assert log.count("taken back after a restart (still recording)") == 3
    each_holds_its_party(await tone_shares(legs_apart, mine, tmp_path))
