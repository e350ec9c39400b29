"""Each leg recorded apart (a queue's record_legs) on the lab, tenant reck (DID 5557000): the caller's sipp phone
plays a 400 Hz tone, the agent's a 1500 Hz one. Besides the bridge's mixed recording the call has one of the
caller alone and one of the agent alone, each with its own row in `recording list` linked to the call; measured
per frequency, each party's file holds its own tone and not the other's, the mixed one both."""

from __future__ import annotations

import asyncio
import json
import os
import signal
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

pytestmark = pytest.mark.asterisk

CALLER_HZ, AGENT_HZ = 400.0, 1500.0
OWN, OTHER = 0.3, 0.05  # shares of a file's energy: its party's tone at least, the other party's at most


@pytest.fixture
def legs_apart(reck: Any) -> Iterator[Tvox]:  # noqa: F811
    tvox = Tvox(reck.config_path)
    tvox.ok("queue", "set", "-t", TENANT, "rec-q", "--record-legs")
    yield tvox
    tvox.ok("queue", "set", "-t", TENANT, "rec-q", "--no-record-legs")


async def test_each_leg_is_recorded_apart_with_its_own_party(
    reck: Any,  # noqa: F811
    sipp: Sipp,
    ada: SippAgent,  # noqa: F811
    store: Store,  # noqa: F811
    legs_apart: Tvox,
    tmp_path: Path,
) -> None:
    caller_tone = tone_pcap(tmp_path / "caller.pcap", CALLER_HZ, 20)
    agent_tone = tone_pcap(tmp_path / "agent.pcap", AGENT_HZ, 20)
    log = tmp_path / "voice.log"
    voice = start_voice(reck, log)
    try:
        wait_ready(log, 1, within=40.0)
        await asyncio.to_thread(ada.register().check)
        await online(reck, f"{TENANT}-ada")
        answering = ada.answer(ring_ms=200, tone=agent_tone)
        await asyncio.sleep(1.5)  # sipp listening before the queue rings the phone
        calling = sipp.start(caller_scenario(DID, wait_ms=500, hold_ms=8000, tone=caller_tone), service=DID)
        _, caller = await talking(reck, [])
        (await asyncio.to_thread(calling.wait, 40)).check()  # the caller hangs up after its 8 s
        (await asyncio.to_thread(answering.wait, 30)).check()
        row = await call_row(store, caller)
        await listed(reck, row.id)
        deadline = asyncio.get_running_loop().time() + 20
        while True:  # the three files come as their recordings finish
            rows = json.loads(await asyncio.to_thread(legs_apart.ok, "recording", "list", "-t", TENANT, "--json"))
            mine = {r["leg"]: r for r in rows if r["interaction_id"] == row.id}
            if len(mine) == 3 or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.3)
    finally:
        if voice.poll() is None:
            os.killpg(voice.pid, signal.SIGTERM)
            voice.wait(10)
    assert sorted(mine) == ["agent", "caller", "mixed"], (mine, log.read_text()[-2000:])
    assert {(r["queue"], r["agent"]) for r in mine.values()} == {("rec-q", "ada")}
    talked = (row.ended_at - row.answered_at).total_seconds()  # type: ignore[operator]
    shares = {}
    for leg, listed_row in mine.items():
        assert abs(listed_row["duration_s"] - talked) <= 1.5, (leg, listed_row, talked)
        out = tmp_path / f"{leg}.wav"
        await asyncio.to_thread(legs_apart.ok, "recording", "export", "-t", TENANT, str(listed_row["id"]), "--out",
                                str(out))  # fmt: skip
        samples = wav_samples(out.read_bytes())
        shares[leg] = (tone_share(samples, CALLER_HZ), tone_share(samples, AGENT_HZ))
    caller_share, agent_share = shares["caller"], shares["agent"]
    assert caller_share[0] >= OWN and caller_share[1] <= OTHER, shares  # the caller alone
    assert agent_share[1] >= OWN and agent_share[0] <= OTHER, shares  # the agent alone
    assert min(shares["mixed"]) >= OTHER, shares  # the bridge: both
