"""The ACD on real calls: sipp callers queue from the IVR, registered sipp agents ring and answer."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.cli import Tvox
from tests.e2e.voice import VOICE_LOG, SettableClock, interactions, running_voice, wait_until_ended
from tests.recording_files import soxi_seconds
from tvoxcc.lab.sipp import Sipp, SippAgent, caller_scenario
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

pytestmark = pytest.mark.asterisk

DATA = Path(__file__).parents[1] / "data"
DID = "5551000"


class Clock(SettableClock):
    """Real time (the router's timers need it to move), on a Monday morning in Rome (the IVR is open)."""

    def __call__(self) -> datetime:
        return datetime(2026, 3, 2, 9, 0, tzinfo=UTC).replace(second=0) + (datetime.now(UTC) - self.now)


@pytest.fixture(scope="module")
def acme(lab: Any) -> Iterator[Any]:
    tvox = Tvox(lab.config_path)
    tvox.ok("import", str(DATA / "e2e-acme.yaml"))
    tvox.ok("import", str(DATA / "e2e-acme-agents.yaml"))
    tvox.ok("prompts", "render", "-t", "acme")
    yield lab


@pytest.fixture
def phones(acme: Any, sipp: Sipp) -> Iterator[dict[str, SippAgent]]:
    password = next(a.password for a in acme.agents if a.endpoint == "acme-alice")
    agents = {name: SippAgent(sipp, f"acme-{name}", password) for name in ("alice", "bob")}
    yield agents
    sipp.cleanup()  # phones still waiting for a call hold their ports: free them to unregister
    for agent in agents.values():
        agent.unregister().check()


async def online(lab: Any, endpoint: str, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while lab.endpoint(endpoint)["state"] != "online":
        assert time.monotonic() < deadline, f"{endpoint} did not come online"
        await asyncio.sleep(0.1)


def caller(sipp: Sipp, hold_ms: int) -> Any:
    """A caller pressing 1 (sales) and staying ``hold_ms`` on the line before hanging up."""
    return sipp.start(caller_scenario(DID, "1", wait_ms=800, gap_ms=hold_ms, hangup="us"), service=DID)


async def agent_names(settings: Any) -> dict[int, str]:
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        rows = dict((await session.execute(select(m.Agent.id, m.Agent.name))).all())
    await store.dispose()
    return rows


async def answered_by(settings: Any, row: dict[str, Any]) -> str | None:
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        interaction = await session.get(m.Interaction, row["id"])
    await store.dispose()
    assert interaction is not None
    names = await agent_names(settings)
    return names.get(interaction.agent_id) if interaction.agent_id else None


async def last_event_id(settings: Any) -> int:
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        last = (await session.execute(select(func.max(m.InteractionEvent.id)))).scalar_one()
    await store.dispose()
    return int(last or 0)


async def member_added_at(settings: Any, after_id: int, agent: str, queue: str) -> list[float]:
    """The router times of the ``member-added`` events of ``agent`` in ``queue`` stored after event ``after_id``."""
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        rows = await session.execute(
            select(m.InteractionEvent.data)
            .join(m.Agent, m.Agent.id == m.InteractionEvent.agent_id)
            .join(m.Queue, m.Queue.id == m.InteractionEvent.queue_id)
            .where(
                m.InteractionEvent.id > after_id,
                m.InteractionEvent.kind == "member-added",
                m.Agent.name == agent,
                m.Queue.name == queue,
            )
            .order_by(m.InteractionEvent.id)
        )
        found = [float(data["router_at"]) for data in rows.scalars().all()]
    await store.dispose()
    return found


async def recording_of(settings: Any, row: dict[str, Any]) -> str | None:
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        interaction = await session.get(m.Interaction, row["id"])
    await store.dispose()
    return interaction.recording if interaction else None


async def repository_row(lab: Any, interaction_id: int, within: float = 20.0) -> dict[str, Any]:
    """The recordings repository's row of an interaction, once the voice service stored it."""
    tvox = Tvox(lab.config_path)
    deadline = time.monotonic() + within
    while True:
        rows = json.loads(await asyncio.to_thread(tvox.ok, "recording", "list", "-t", "acme", "--json"))
        found = [r for r in rows if r["interaction_id"] == interaction_id]
        if found:
            return dict(found[0])
        assert time.monotonic() < deadline, (
            f"no recording of interaction {interaction_id} in `recording list`; the voice log about recordings:\n"
            + VOICE_LOG.about("recording", "ARI events")
        )
        await asyncio.sleep(0.3)


async def talk_seconds(settings: Any, interaction_id: int) -> float:
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        interaction = await session.get(m.Interaction, interaction_id)
    await store.dispose()
    assert interaction is not None and interaction.answered_at and interaction.ended_at
    return (interaction.ended_at - interaction.answered_at).total_seconds()


async def connected_leg(lab: Any, endpoint: str, within: float = 15.0) -> str:
    """The id of the agent's channel once it is up (answered)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for channel in lab.channels():
            if channel["name"].startswith(f"PJSIP/{endpoint}-") and channel["state"] == "Up":
                return str(channel["id"])
        await asyncio.sleep(0.2)
    raise AssertionError(f"{endpoint} never answered")


async def register(acme: Any, phones: dict[str, SippAgent], *names: str) -> None:
    for name in names:
        await asyncio.to_thread(phones[name].register().check)
        await online(acme, f"acme-{name}")
        await asyncio.sleep(0.3)  # the ACD logs agents in in this order: alice is the longest idle


async def call_bridge(lab: Any, within: float = 15.0) -> dict[str, Any]:
    """The mixing bridge of a call once its caller and agent are both in it."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for bridge in lab.ari("bridges"):
            if bridge["name"].startswith("tvoxcc-call-") and len(bridge["channels"]) == 2:
                return dict(bridge)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no caller was bridged to an agent: {lab.ari('bridges')}")


def queue_log_since(lab: Any, mark: int) -> list[list[str]]:
    """The queue_log lines written after byte ``mark``, split into fields (the lab's is shared by the session)."""
    queue_log = lab.settings.data_dir / "queue_log"
    assert queue_log.exists(), f"the ACD wrote no queue_log at {queue_log}"
    with queue_log.open("rb") as handle:
        handle.seek(mark)
        return [entry.split("|") for entry in handle.read().decode().splitlines()]


def queue_log_mark(lab: Any) -> int:
    queue_log = lab.settings.data_dir / "queue_log"
    return queue_log.stat().st_size if queue_log.exists() else 0


async def test_longest_idle_agent_answers_and_is_bridged(acme: Any, sipp: Sipp, phones: dict[str, SippAgent]) -> None:
    before = len(await interactions(acme.settings))
    mark = queue_log_mark(acme)
    async with running_voice(acme.settings, Clock(datetime.now(UTC))):
        await register(acme, phones, "alice", "bob")
        ringing = {name: phones[name].answer(ring_ms=300) for name in ("alice", "bob")}
        calling = caller(sipp, 4000)
        # Joined to alice, the caller has left the holding bridge (no removeChannel: Asterisk moves it).
        talk = await call_bridge(acme)
        holding = [b for b in acme.ari("bridges") if b["bridge_type"] == "holding"]
        assert holding and all(talk["name"].removeprefix("tvoxcc-call-") not in b["channels"] for b in holding)
        first = await asyncio.to_thread(calling.wait, 30)
        rows = await wait_until_ended(acme.settings, 1)
        first.check()
        ringing["alice"].wait(10).check()  # alice answered and got the BYE when the caller hung up
        assert ringing["bob"].process.poll() is None  # bob's phone never rang
        row = rows[before]
        assert await answered_by(acme.settings, row) == "alice"
        assert row["outcome"] == "answered"
        # The queue records: once Asterisk finishes the bridge's recording it is in the repository (and gone
        # from Asterisk), as long as the call was talking (answer to hang-up) within a second.
        recording = await recording_of(acme.settings, row)
        assert recording is not None
        stored = await repository_row(acme, row["id"])
        talked = await talk_seconds(acme.settings, row["id"])
        assert abs(stored["duration_s"] - talked) <= 1.0, (stored, talked)
        assert (stored["queue"], stored["agent"], stored["format"]) == ("sales-it", "alice", "wav")
        assert not any(r["name"] == recording for r in acme.ari("recordings/stored"))
        exported = acme.settings.data_dir / f"export-{row['id']}.wav"
        await asyncio.to_thread(
            Tvox(acme.config_path).ok, "recording", "export", "-t", "acme", str(stored["id"]), "--out", str(exported)
        )
        assert abs(await asyncio.to_thread(soxi_seconds, exported) - stored["duration_s"]) < 0.05
        exported.unlink()
        # Each digit reaches the IVR once (endpoint subscriptions must not repeat the caller's events).
        assert [d["digit"] for k, d in row["events"] if k == "ivr-input"] == ["1"]
        kinds = [k for k, _ in row["events"]]
        assert kinds.index("item-queued") < kinds.index("item-offered") < kinds.index("item-connected")
        assert kinds.index("item-completed") < kinds.index("ended")
    # The call's queue_log lines, as Asterisk's app_queue writes them: entered, connected to alice, the caller
    # hung up first (sipp's caller sends the BYE); epoch|callid|queue|agent|EVENT|data1|data2|data3.
    call = [f for f in queue_log_since(acme, mark) if f[1] == row["channel_id"]]
    assert [(f[2], f[3], f[4]) for f in call] == [
        ("acme/sales-it", "NONE", "ENTERQUEUE"),
        ("acme/sales-it", "acme-alice", "CONNECT"),
        ("acme/sales-it", "acme-alice", "COMPLETECALLER"),
    ]
    enter, connect, complete = call
    assert enter[5] == "" and enter[7] == "1"  # no URL; first in line
    hold, bridged, ring = connect[5:8]
    assert hold.isdigit() and ring.isdigit() and bridged not in ("", row["channel_id"])  # alice's leg
    assert complete[5] == hold and complete[6].isdigit() and complete[7] == "1"  # same hold time; orig. position
    assert [int(f[0]) for f in call] == sorted(int(f[0]) for f in call)


async def test_the_agent_pauses_the_recording_for_payment_data(
    acme: Any, sipp: Sipp, phones: dict[str, SippAgent]
) -> None:
    """*78 then *79 from the agent's phone: the stored recording still lasts the whole talk (the paused part is
    silence) and its row marks the stretch."""
    before = len(await interactions(acme.settings))
    pause = "*78" + "." * 10 + "*79"  # keyed 300 ms apart: paused ~3.3 s
    async with running_voice(acme.settings, Clock(datetime.now(UTC))):
        await register(acme, phones, "alice", "bob")
        for name in ("alice", "bob"):
            phones[name].answer(ring_ms=300, digits=pause)
        calling = caller(sipp, 9000)
        await call_bridge(acme)
        (await asyncio.to_thread(calling.wait, 40)).check()
        rows = await wait_until_ended(acme.settings, 1)
        row = rows[before]
        assert row["outcome"] == "answered"
        stored = await repository_row(acme, row["id"])
        talked = await talk_seconds(acme.settings, row["id"])
    assert len(stored["gaps"]) == 1, stored
    start, end = stored["gaps"][0]
    assert 0.5 < start < 3.0 and 2.5 < end - start < 4.5, stored["gaps"]
    assert abs(stored["duration_s"] - talked) <= 1.0, (stored, talked)


async def test_an_on_demand_queue_records_from_the_agents_star_77(
    acme: Any, sipp: Sipp, phones: dict[str, SippAgent]
) -> None:
    """On an on-demand queue a call is not recorded at answer; the agent's *77 starts the recording there, so the
    stored file lasts from the key to the end; a second call whose agent keys nothing is not recorded at all."""
    tvox = Tvox(acme.config_path)
    await asyncio.to_thread(tvox.ok, "queue", "set", "-t", "acme", "sales-it", "--recording", "on-demand")
    before = len(await interactions(acme.settings))
    try:
        async with running_voice(acme.settings, Clock(datetime.now(UTC))):
            await register(acme, phones, "alice")
            answering = phones["alice"].answer(ring_ms=300, digits="." * 10 + "*77")  # *77 about 3 s in
            (await asyncio.to_thread(caller(sipp, 9000).wait, 40)).check()
            await asyncio.to_thread(answering.wait, 10)
            phones["alice"].answer(ring_ms=300)  # keys nothing
            (await asyncio.to_thread(caller(sipp, 3000).wait, 40)).check()
            rows = await wait_until_ended(acme.settings, 2)
            first, second = rows[before], rows[before + 1]
            stored = await repository_row(acme, first["id"])
            talked = await talk_seconds(acme.settings, first["id"])
            listed = json.loads(await asyncio.to_thread(tvox.ok, "recording", "list", "-t", "acme", "--json"))
    finally:
        await asyncio.to_thread(tvox.ok, "queue", "set", "-t", "acme", "sales-it", "--recording", "always")
    assert first["outcome"] == second["outcome"] == "answered"
    assert 2.0 < talked - stored["duration_s"] < 5.5, (stored, talked)  # from the *77 on, not from the answer
    assert not [r for r in listed if r["interaction_id"] == second["id"]]


async def test_wrapup_is_respected_before_the_next_call(acme: Any, sipp: Sipp, phones: dict[str, SippAgent]) -> None:
    before = len(await interactions(acme.settings))
    async with running_voice(acme.settings, Clock(datetime.now(UTC))):
        await register(acme, phones, "alice")
        answering = phones["alice"].answer(ring_ms=200)
        first = await asyncio.to_thread(caller(sipp, 3000).wait, 30)
        first.check()
        await asyncio.to_thread(answering.wait, 10)  # the phone's port is free again for the next call
        phones["alice"].answer(ring_ms=200)
        second = await asyncio.to_thread(caller(sipp, 7000).wait, 30)
        second.check()
        rows = await wait_until_ended(acme.settings, 2)
    a, b = rows[before], rows[before + 1]
    assert await answered_by(acme.settings, a) == "alice", [k for k, _ in a["events"]]
    assert await answered_by(acme.settings, b) == "alice", [k for k, _ in b["events"]]
    offered = [d["router_at"] for k, d in b["events"] if k == "item-offered"]
    completed = [d["router_at"] for k, d in a["events"] if k == "item-completed"]
    assert offered and completed and offered[0] - completed[0] >= 3.0  # the queue's 3 s wrap-up (router times)
    store = Store.from_url(acme.settings.database.url.get_secret_value())
    async with store.session() as session:
        wrapups = (
            await session.execute(select(m.InteractionEvent.data).where(m.InteractionEvent.kind == "wrapup-started"))
        ).scalars().all()  # fmt: skip
    await store.dispose()
    assert any(abs(d["value"] - 3.0) < 0.01 for d in wrapups)  # stored for Insight's AHT


async def test_an_agent_who_does_not_answer_is_skipped_and_paused(
    acme: Any, sipp: Sipp, phones: dict[str, SippAgent]
) -> None:
    before = len(await interactions(acme.settings))
    async with running_voice(acme.settings, Clock(datetime.now(UTC))):
        await register(acme, phones, "alice", "bob")
        phones["alice"].answer(ring_ms=20000)  # rings, never answers within the 5 s ring timeout
        phones["bob"].answer(ring_ms=200)
        call = await asyncio.to_thread(caller(sipp, 9000).wait, 40)
        call.check()
        rows = await wait_until_ended(acme.settings, 1)
    row = rows[before]
    assert await answered_by(acme.settings, row) == "bob"
    kinds = [k for k, _ in row["events"]]
    assert kinds.count("item-offered") == 2 and "ring-no-answer" in kinds
    store = Store.from_url(acme.settings.database.url.get_secret_value())
    async with store.session() as session:
        paused = (
            await session.execute(select(m.InteractionEvent.data).where(m.InteractionEvent.kind == "agent-paused"))
        ).scalars().all()  # fmt: skip
    await store.dispose()
    assert any(d["detail"] == "RONA" for d in paused)


async def test_a_vip_jumps_the_line(acme: Any, sipp: Sipp, phones: dict[str, SippAgent]) -> None:
    before = len(await interactions(acme.settings))
    mark = acme.log_mark()
    async with running_voice(acme.settings, Clock(datetime.now(UTC))):
        await register(acme, phones, "alice")
        answering = phones["alice"].answer(ring_ms=200)
        busy = sipp.start(caller_scenario(DID, "1", wait_ms=800, gap_ms=6000, hangup="us"), service=DID)
        # Timeline (s): busy 0-7 with alice, wrap-up to 10; plain waits 2.5-24.5; the VIP waits from 4 and is
        # offered first at ~10, talks until ~25; plain hangs up before alice is free again (~28).
        await asyncio.sleep(2.5)  # alice is on the first call
        plain = sipp.start(caller_scenario(DID, "1", wait_ms=800, gap_ms=21000, hangup="us"), service=DID)
        await asyncio.sleep(1.5)
        vip = sipp.start(caller_scenario(DID, "5", wait_ms=800, gap_ms=20000, hangup="us"), service=DID)
        await asyncio.to_thread(answering.wait, 20)  # the first call is over: alice's phone answers again
        phones["alice"].answer(ring_ms=200)
        for run in (busy, plain, vip):
            await asyncio.to_thread(run.wait, 40)
            run.check()
        rows = await wait_until_ended(acme.settings, 3)
    first, second, third = rows[before : before + 3]
    assert await answered_by(acme.settings, first) == "alice"
    assert await answered_by(acme.settings, third) == "alice"  # the VIP, queued last, went first
    assert second["outcome"] == "abandoned" and "item-offered" not in [k for k, _ in second["events"]]
    log = acme.log_since(mark)  # waiting callers heard their position every 3 s
    assert "queue-youarenext" in log and "queue-thereare" in log


async def test_overflow_moves_the_call_to_the_backup_queue(acme: Any, sipp: Sipp, phones: dict[str, SippAgent]) -> None:
    before = len(await interactions(acme.settings))
    async with running_voice(acme.settings, Clock(datetime.now(UTC))):
        await register(acme, phones, "bob")  # bob serves sales-backup; nobody serves sales-overflow
        phones["bob"].answer(ring_ms=200)
        run = await asyncio.to_thread(
            sipp.start(caller_scenario(DID, "6", wait_ms=800, gap_ms=8000, hangup="us"), service=DID).wait, 30
        )
        run.check()
        rows = await wait_until_ended(acme.settings, 1)
    row = rows[before]
    kinds = [k for k, _ in row["events"]]
    assert await answered_by(acme.settings, row) == "bob", " ".join(kinds)
    assert kinds.index("item-overflowed") < kinds.index("item-connected")
    waited = [d["router_at"] for k, d in row["events"] if k in ("item-queued", "item-overflowed")]
    assert waited[-1] - waited[0] >= 3.0  # the rule: after 3 s of waiting


async def test_caller_goes_to_the_survey_when_the_agent_hangs_up(
    acme: Any, sipp: Sipp, phones: dict[str, SippAgent]
) -> None:
    before = len(await interactions(acme.settings))
    async with running_voice(acme.settings, Clock(datetime.now(UTC))):
        await register(acme, phones, "bob")  # sales-backup (via sales-overflow) asks for the survey
        phones["bob"].answer(ring_ms=200)
        # "6": the overflowing queue; silence while queued, answered, and bob hangs up; then "9" in the survey.
        digits = "6" + "." * 16 + "9"
        scenario = caller_scenario(DID, digits, wait_ms=800, gap_ms=500, hangup="them", bye_timeout_ms=20000)
        caller_run = sipp.start(scenario, service=DID)
        leg = await connected_leg(acme, "acme-bob")
        acme.ari(f"channels/{leg}", "DELETE")  # bob hangs up (his phone gets Asterisk's BYE)
        run = await asyncio.to_thread(caller_run.wait, 40)
        run.check()  # the survey thanked the caller and hung up
        rows = await wait_until_ended(acme.settings, 1)
    row = rows[before]
    assert await answered_by(acme.settings, row) == "bob"
    store = Store.from_url(acme.settings.database.url.get_secret_value())
    async with store.session() as session:
        answer = (
            await session.execute(select(m.NpsAnswer).where(m.NpsAnswer.interaction_id == row["id"]))
        ).scalar_one()
        bob = (await session.execute(select(m.Agent.id).where(m.Agent.name == "bob"))).scalar_one()
    await store.dispose()
    assert (answer.score, answer.agent_id) == (9, bob)


async def test_a_membership_added_with_the_cli_is_taken_live(
    acme: Any, sipp: Sipp, phones: dict[str, SippAgent]
) -> None:
    tvox = Tvox(acme.config_path)
    await asyncio.to_thread(tvox.ok, "agent", "set", "-t", "acme", "bob", "--drop-queue", "sales-it")  # backup only
    before = len(await interactions(acme.settings))
    events_before = await last_event_id(acme.settings)
    try:
        async with running_voice(acme.settings, Clock(datetime.now(UTC))):
            await register(acme, phones, "bob")
            phones["bob"].answer(ring_ms=200)
            run = caller(sipp, 16000)  # "1": sales-it, where nobody serves now
            await asyncio.sleep(4.0)
            assert not any(c["name"].startswith("PJSIP/acme-bob-") for c in acme.channels())  # not offered
            await asyncio.to_thread(tvox.ok, "agent", "set", "-t", "acme", "bob", "--queue", "sales-it")
            # no restart: the running ACD takes the change at its next look (every 5 s) and rings bob
            await asyncio.to_thread(run.wait, 40)
            run.check()
            rows = await wait_until_ended(acme.settings, 1)
    finally:
        await asyncio.to_thread(tvox.ok, "import", str(DATA / "e2e-acme-agents.yaml"))
    row = rows[before]
    assert await answered_by(acme.settings, row) == "bob"
    at = {k: d["router_at"] for k, d in row["events"] if k in ("item-queued", "item-offered")}
    joined = await member_added_at(acme.settings, events_before, "bob", "sales-it")
    # The order the ACD recorded: the call queued, then bob joined sales-it, and only then was he offered it.
    assert len(joined) == 1 and at["item-queued"] < joined[0] <= at["item-offered"], (at, joined)


async def test_ivr_skills_pick_the_agent_and_its_language_the_announcements(
    acme: Any, sipp: Sipp, phones: dict[str, SippAgent]
) -> None:
    """The IVR: the caller picks Italian, a set node asks english 5. alice (english 3) is the longest idle and
    stays idle: bob (english 5) takes the first call; the second waits for bob, hearing Italian announcements."""
    tvox = Tvox(acme.config_path)
    await asyncio.to_thread(tvox.ok, "ivr", "set", "acme", "sales", str(DATA / "e2e-skills-ivr.yaml"))
    before = len(await interactions(acme.settings))
    mark = acme.log_mark()
    try:
        async with running_voice(acme.settings, Clock(datetime.now(UTC))):
            await register(acme, phones, "alice", "bob")
            ringing = {name: phones[name].answer(ring_ms=200) for name in ("alice", "bob")}
            first = sipp.start(caller_scenario(DID, "1", wait_ms=800, gap_ms=16000, hangup="us"), service=DID)
            await connected_leg(acme, "acme-bob")
            second = sipp.start(caller_scenario(DID, "1", wait_ms=800, gap_ms=8000, hangup="us"), service=DID)
            for run in (second, first):
                await asyncio.to_thread(run.wait, 40)
                run.check()
            rows = await wait_until_ended(acme.settings, 2)
            assert ringing["alice"].process.poll() is None  # alice's phone never rang
    finally:
        await asyncio.to_thread(tvox.ok, "import", str(DATA / "e2e-acme.yaml"))  # the other tests' IVR again
    answered, waited = rows[before : before + 2]
    assert await answered_by(acme.settings, answered) == "bob"
    assert waited["outcome"] == "abandoned" and "item-offered" not in [k for k, _ in waited["events"]]
    for row in (answered, waited):
        queued = next(d for k, d in row["events"] if k == "queued")
        assert (queued["skills"], queued["language"], queued["variables"]) == (
            {"english": 5}, "it", {"topic": "export-docs"}
        )  # fmt: skip
    # Asterisk plays the queue's announcement in the language the caller picked, never the tenant's (en).
    log = acme.log_since(mark)
    assert re.search(r"Playing 'queue-youarenext\.[a-z0-9]+' \(language 'it'\)", log)
    assert not re.search(r"Playing 'queue-[a-z-]+\.[a-z0-9]+' \(language 'en'\)", log)


async def until_queued(settings: Any, row: int, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not any(k == "queued" for r in (await interactions(settings))[row:] for k, _ in r["events"]):
        assert time.monotonic() < deadline, "the call never reached its queue"
        await asyncio.sleep(0.2)


async def test_a_restart_keeps_the_ivr_skills_and_language_of_a_queued_call(
    acme: Any, sipp: Sipp, phones: dict[str, SippAgent]
) -> None:
    tvox = Tvox(acme.config_path)
    await asyncio.to_thread(tvox.ok, "ivr", "set", "acme", "sales", str(DATA / "e2e-skills-ivr.yaml"))
    before = len(await interactions(acme.settings))
    try:
        async with running_voice(acme.settings, Clock(datetime.now(UTC))):
            await register(acme, phones, "alice")  # english 3: not enough for the call
            alice = phones["alice"].answer(ring_ms=200)
            run = sipp.start(caller_scenario(DID, "1", wait_ms=800, gap_ms=14000, hangup="us"), service=DID)
            await until_queued(acme.settings, before)
        mark = acme.log_mark()
        async with running_voice(acme.settings, Clock(datetime.now(UTC))):  # resumes the call in its queue
            await asyncio.to_thread(run.wait, 40)
            run.check()
            rows = await wait_until_ended(acme.settings, 1)
            assert alice.process.poll() is None  # alice's phone never rang, before or after the restart
    finally:
        await asyncio.to_thread(tvox.ok, "import", str(DATA / "e2e-acme.yaml"))
    row = rows[before]
    kinds = [k for k, _ in row["events"]]
    assert "resumed" in kinds and "item-offered" not in kinds and row["outcome"] == "abandoned"
    first, again = [d for k, d in row["events"] if k == "queued"]
    assert first == again and (again["skills"], again["language"]) == ({"english": 5}, "it")
    assert re.search(r"Playing 'queue-youarenext\.[a-z0-9]+' \(language 'it'\)", acme.log_since(mark))
