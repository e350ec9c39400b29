"""Listen, whisper and barge on a live call (tvoxcc.supervision) against the lab Asterisk.

A sipp caller playing a 400 Hz tone talks to the agent alice (a sipp phone answering); the supervisor dials from
bob's phone playing a 1500 Hz tone. What each phone receives is taken off the loopback wire (tvoxcc.lab.rtp_tap)
and measured per frequency: who hears whom is measured at the phones, not inferred from the session's own
bookkeeping (nor from an Asterisk spy, which never sees a whisper).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from tests.cli import Tvox
from tests.e2e.test_voice_acd import DID, Clock, call_bridge, register
from tests.e2e.voice import running_voice
from tvoxcc.lab.rtp_tap import capture
from tvoxcc.lab.sipp import Sipp, SippAgent, SippRun, caller_scenario, media_block
from tvoxcc.lab.tone import tone_pcap, tone_share
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.web.app import build_app

pytestmark = pytest.mark.asterisk

DATA = Path(__file__).parents[1] / "data"
CALLER_HZ, SUPERVISOR_HZ = 400, 1500
HEARS = 0.2  # share of a recording's energy at a party's frequency that means "heard"
SILENT = 0.02


@pytest.fixture(scope="module")
def acme(lab: Any) -> Iterator[Any]:
    tvox = Tvox(lab.config_path)
    tvox.ok("import", str(DATA / "e2e-acme.yaml"))
    tvox.ok("import", str(DATA / "e2e-acme-agents.yaml"))
    tvox.ok("prompts", "render", "-t", "acme")
    yield lab


@pytest.fixture(scope="module")
def boss(acme: Any) -> str:
    """A supervisor of acme working on bob's phone (the one user linked to it)."""
    name = f"boss-{secrets.token_hex(3)}"
    Tvox(acme.config_path).ok("user", "add", name, "--role", "supervisor", "-t", "acme", "--agent", "bob")
    return name


@pytest.fixture
def phones(acme: Any, sipp: Sipp) -> Iterator[dict[str, SippAgent]]:
    password = next(a.password for a in acme.agents if a.endpoint == "acme-alice")
    agents = {name: SippAgent(sipp, f"acme-{name}", password) for name in ("alice", "bob")}
    yield agents
    sipp.cleanup()
    agents["alice"].unregister().check()


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tones")
    return {
        "caller": tone_pcap(folder / "caller.pcap", CALLER_HZ, 60),
        # talks all along, presses 2 (whisper) after 8 s and 3 (barge) after 16 s
        "supervisor": tone_pcap(folder / "supervisor.pcap", SUPERVISOR_HZ, 60, digits=[(8, "2"), (16, "3")]),
        "plain": tone_pcap(folder / "plain.pcap", SUPERVISOR_HZ, 60),  # the supervisor's voice, no keys
    }


# -- what Asterisk shows ---------------------------------------------------------------------------------------------


def media_port(run: SippRun) -> int:
    return int(run.args[run.args.index("-mp") + 1])


async def audio_of(phones: dict[str, SippRun], seconds: float = 3.0) -> dict[str, dict[str, float]]:
    """party -> {"caller": share of the caller's tone, "supervisor": share of the supervisor's} in what their
    phone receives over ``seconds``."""
    ports = {party: media_port(run) for party, run in phones.items()}
    audio = await asyncio.to_thread(capture, ports.values(), seconds)
    heard = {party: audio[port] for party, port in ports.items()}
    assert all(len(samples) > 8000 for samples in heard.values()), {p: len(s) for p, s in heard.items()}
    return {
        party: {"caller": tone_share(samples, CALLER_HZ), "supervisor": tone_share(samples, SUPERVISOR_HZ)}
        for party, samples in heard.items()
    }


def bridges(lab: Any) -> dict[str, set[str]]:
    return {b["name"]: set(b["channels"]) for b in lab.ari("bridges")}


async def bridge_is(lab: Any, name: str, members: set[str], within: float = 5.0) -> None:
    """Bridge ``name`` holds exactly ``members`` (the row is written a moment before ARI carries it out)."""
    deadline = time.monotonic() + within
    while bridges(lab).get(name) != members:
        assert time.monotonic() < deadline, (name, members, bridges(lab))
        await asyncio.sleep(0.1)


async def channel_named(lab: Any, prefix: str, within: float = 10.0, but_not: str = "") -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for channel in lab.channels():
            if channel["name"].startswith(prefix) and channel["state"] == "Up" and channel["id"] != but_not:
                return dict(channel)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no channel {prefix}…: {[c['name'] for c in lab.channels()]}")


async def no_channel(lab: Any, prefix: str, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while [c for c in lab.channels() if c["name"].startswith(prefix)]:
        assert time.monotonic() < deadline, [(c["id"], c["name"], c["state"]) for c in lab.channels()]
        await asyncio.sleep(0.1)


async def rows(lab: Any) -> list[m.ListenSession]:
    store = Store.from_url(lab.settings.database.url.get_secret_value())
    try:
        async with store.session() as session:
            return list((await session.execute(select(m.ListenSession).order_by(m.ListenSession.id))).scalars())
    finally:
        await store.dispose()


async def row_where(lab: Any, check: Any, within: float = 15.0) -> m.ListenSession:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = [row for row in await rows(lab) if check(row)]
        if found:
            return found[-1]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no such listen row: {[(r.supervisor, r.phase, r.modes) for r in await rows(lab)]}")


# -- the sessions ------------------------------------------------------------------------------------------------


async def test_listen_then_whisper_then_barge_by_dtmf(
    acme: Any, sipp: Sipp, phones: dict[str, SippAgent], boss: str, tones: dict[str, Path]
) -> None:
    async with running_voice(acme.settings, Clock(datetime.now(UTC))):
        await register(acme, phones, "alice")
        answering = phones["alice"].answer(ring_ms=200)
        call = sipp.start(caller_scenario(DID, "1", wait_ms=800, hold_ms=28_000, tone=tones["caller"]), service=DID)
        talk = await call_bridge(acme)
        agent = await channel_named(acme, "PJSIP/acme-alice-")
        caller_id = next(c for c in talk["channels"] if c != agent["id"])
        media = media_block(tones["supervisor"])
        supervisor = phones["bob"].sipp.dial_playing(
            "acme-bob", phones["bob"].password, "*801001", media=media, listen_ms=60_000
        )
        sup = await channel_named(acme, "PJSIP/acme-bob-")
        parties = {"caller": call, "agent": answering, "supervisor": supervisor}

        row = await row_where(acme, lambda r: r.supervisor == boss and len(r.modes) == 1)
        assert (row.phase, row.mode, row.agent, row.tenant) == ("active", "listen", "alice", "acme")
        snoop = await channel_named(acme, "Snoop/")
        await bridge_is(acme, f"tvoxcc-listen-{sup['id']}", {sup["id"], snoop["id"]})
        await bridge_is(acme, talk["name"], {caller_id, agent["id"]})
        heard = await audio_of(parties)
        assert heard["supervisor"]["caller"] > HEARS  # the call reaches the supervisor
        assert heard["caller"]["supervisor"] < SILENT and heard["agent"]["supervisor"] < SILENT  # heard by neither

        row = await row_where(acme, lambda r: r.supervisor == boss and len(r.modes) == 2)
        assert row.modes[-1]["mode"] == "whisper"
        whisper = await channel_named(acme, "Snoop/", but_not=snoop["id"])  # a new snoop, the old one gone
        await bridge_is(acme, f"tvoxcc-listen-{sup['id']}", {sup["id"], whisper["id"]})
        await no_channel(acme, snoop["name"])
        heard = await audio_of(parties)
        assert heard["agent"]["supervisor"] > HEARS  # whispered to the agent…
        assert heard["caller"]["supervisor"] < SILENT  # …and not to the caller
        assert heard["supervisor"]["caller"] > HEARS

        row = await row_where(acme, lambda r: r.supervisor == boss and len(r.modes) == 3)
        assert row.modes[-1]["mode"] == "barge"
        await bridge_is(acme, talk["name"], {caller_id, agent["id"], sup["id"]})  # three-way
        await no_channel(acme, "Snoop/")  # the whisper's snoop is gone
        heard = await audio_of(parties)
        assert heard["agent"]["supervisor"] > HEARS and heard["caller"]["supervisor"] > HEARS
        assert heard["supervisor"]["caller"] > HEARS

        await asyncio.to_thread(call.wait, 60)  # the caller hangs up: the session ends with the call
        ended = await row_where(acme, lambda r: r.supervisor == boss and r.ended_at is not None)
        await asyncio.to_thread(supervisor.wait, 20)
        supervisor.check()  # Asterisk hung the supervisor's leg up (sipp waited for that BYE)
    assert ended.end_reason == "call-ended" and ended.phase == "ended"
    assert [c["mode"] for c in ended.modes] == ["listen", "whisper", "barge"]
    assert ended.duration_s is not None and ended.duration_s > 10
    await no_channel(acme, "Snoop/")
    await no_channel(acme, "PJSIP/acme-bob-")


async def hang_up(lab: Any, channel_id: str) -> None:
    lab.ari(f"channels/{channel_id}", "DELETE")


async def test_codes_refusals_and_the_web_request(
    acme: Any, sipp: Sipp, phones: dict[str, SippAgent], boss: str, tones: dict[str, Path], tmp_path: Path
) -> None:
    tvox = Tvox(acme.config_path)
    (tmp_path / "beta.yaml").write_text(
        "tenant: {name: beta, timezone: Europe/Rome, country: IT, language: en}\n"
        'agents:\n  - {name: carol, extension: "1001"}\n'
    )
    rival = f"rival-{secrets.token_hex(3)}"  # a supervisor of beta, on carol's phone

    def setup() -> None:
        tvox.ok("import", str(tmp_path / "beta.yaml"))
        tvox.ok("user", "set", boss, "--password-stdin", input="boss-password\n")
        tvox.ok("user", "add", rival, "--role", "supervisor", "-t", "beta", "--agent", "carol", "--password-stdin",
                input="rival-password\n")  # fmt: skip

    await asyncio.to_thread(setup)
    password = phones["bob"].password
    async with running_voice(acme.settings, Clock(datetime.now(UTC))) as app:
        await register(acme, phones, "alice")
        answering = phones["alice"].answer(ring_ms=200)
        call = sipp.start(caller_scenario(DID, "1", wait_ms=800, hold_ms=40_000, tone=tones["caller"]), service=DID)
        talk = await call_bridge(acme)
        agent = await channel_named(acme, "PJSIP/acme-alice-")
        caller_id = next(c for c in talk["channels"] if c != agent["id"])

        # *81: whispering from the start; the supervisor hangs up, the call goes on.
        whisper = sipp.dial_playing("acme-bob", password, "*811001", media=media_block(tones["plain"]),
                                    listen_ms=60_000)  # fmt: skip
        row = await row_where(acme, lambda r: r.supervisor == boss and r.phase == "active")
        assert (row.mode, [c["mode"] for c in row.modes]) == ("whisper", ["whisper"])
        sup = await channel_named(acme, "PJSIP/acme-bob-")
        heard = await audio_of({"caller": call, "agent": answering})
        assert heard["agent"]["supervisor"] > HEARS and heard["caller"]["supervisor"] < SILENT
        await hang_up(acme, sup["id"])
        ended = await row_where(acme, lambda r: r.id == row.id and r.phase == "ended")
        assert ended.end_reason == "supervisor-hung-up"
        await asyncio.to_thread(whisper.wait, 10)
        await no_channel(acme, "Snoop/")
        await bridge_is(acme, talk["name"], {caller_id, agent["id"]})

        # *82: a three-way call at once.
        barge = sipp.dial_playing("acme-bob", password, "*821001", media=media_block(tones["plain"]), listen_ms=60_000)
        row = await row_where(acme, lambda r: r.supervisor == boss and r.phase == "active")
        sup = await channel_named(acme, "PJSIP/acme-bob-")
        assert row.mode == "barge"
        await bridge_is(acme, talk["name"], {caller_id, agent["id"], sup["id"]})
        heard = await audio_of({"caller": call, "agent": answering, "supervisor": barge})
        assert heard["caller"]["supervisor"] > HEARS and heard["agent"]["supervisor"] > HEARS
        assert heard["supervisor"]["caller"] > HEARS
        await hang_up(acme, sup["id"])
        await row_where(acme, lambda r: r.id == row.id and r.phase == "ended")
        await asyncio.to_thread(barge.wait, 10)

        # Refused, each with a prompt (the dialplan hangs up: sipp gets the BYE) and a row.
        await asyncio.to_thread(tvox.ok, "user", "set", boss, "--role", "agent")
        await asyncio.to_thread(lambda: sipp.dial("acme-bob", password, "*801001").check())
        await asyncio.to_thread(tvox.ok, "user", "set", boss, "--role", "supervisor")
        # a supervisor of beta: their codes name beta's extensions (1001 is carol, on her own phone)
        await asyncio.to_thread(lambda: sipp.dial("beta-carol", password, "*801001").check())
        refused = {r.supervisor: r for r in await rows(acme) if r.refused}
        assert (refused[boss].refused, refused[boss].agent, refused[boss].tenant) == ("not-supervisor", "alice", "acme")
        assert (refused[rival].refused, refused[rival].tenant) == ("own-call", "beta")

        # From the web: bob's phone rings first, then listens.
        bob = phones["bob"]
        await asyncio.to_thread(bob.register().check)
        ringing = bob.answer(ring_ms=200)
        store = Store.from_url(acme.settings.database.url.get_secret_value())
        web_client = TestClient(TestServer(build_app(store, acme.settings.web)))
        await web_client.start_server()
        try:
            await web_client.post("/login", json={"username": rival, "password": "rival-password"})
            response = await web_client.post("/api/tenants/acme/agents/alice/listen", json={"mode": "listen"})
            assert response.status == 404 and (await response.json())["reason"] == "other-tenant"
            web_client.session.cookie_jar.clear()
            login = await web_client.post("/login", json={"username": boss, "password": "boss-password"})
            assert login.status == 200
            response = await web_client.post("/api/tenants/acme/agents/alice/listen", json={"mode": "listen"})
            assert response.status == 202, await response.text()
            asked = (await response.json())["session"]
        finally:
            await web_client.close()
            await store.dispose()
        other = [r for r in await rows(acme) if r.supervisor == rival and r.origin == "web"]
        assert [(r.refused, r.tenant, r.agent, r.started_at) for r in other] == [
            ("other-tenant", "acme", "alice", None)
        ]
        row = await row_where(acme, lambda r: r.id == asked and r.phase == "active")
        assert (row.origin, row.mode, row.supervisor_phone) == ("web", "listen", "acme-bob")
        sup = await channel_named(acme, "PJSIP/acme-bob-")
        snoop = await channel_named(acme, "Snoop/")
        await bridge_is(acme, f"tvoxcc-listen-{sup['id']}", {sup["id"], snoop["id"]})
        heard = await audio_of({"supervisor": ringing})
        assert heard["supervisor"]["caller"] > HEARS

        await asyncio.to_thread(call.wait, 60)  # the caller hangs up: the web session ends with the call
        ended = await row_where(acme, lambda r: r.id == asked and r.phase == "ended")
        assert ended.end_reason == "call-ended"
        await asyncio.to_thread(ringing.wait, 20)
        ringing.check()
        await no_channel(acme, "Snoop/")
        await asyncio.to_thread(answering.wait, 20)

        # No call: refused as such.
        await asyncio.to_thread(lambda: sipp.dial("acme-bob", password, "*801001").check())
        assert (await rows(acme))[-1].refused == "not-on-call"
        assert app.supervision.sessions == {}
    await asyncio.to_thread(bob.unregister().check)


async def test_a_restart_ends_the_sessions_it_finds(
    acme: Any, sipp: Sipp, phones: dict[str, SippAgent], boss: str, tones: dict[str, Path]
) -> None:
    async with running_voice(acme.settings, Clock(datetime.now(UTC))):
        await register(acme, phones, "alice")
        answering = phones["alice"].answer(ring_ms=200)
        call = sipp.start(caller_scenario(DID, "1", wait_ms=800, hold_ms=20_000, tone=tones["caller"]), service=DID)
        talk = await call_bridge(acme)
        agent = await channel_named(acme, "PJSIP/acme-alice-")
        caller_id = next(c for c in talk["channels"] if c != agent["id"])
        supervisor = sipp.dial_playing("acme-bob", phones["bob"].password, "*801001",
                                       media=media_block(tones["plain"]), listen_ms=60_000)  # fmt: skip
        row = await row_where(acme, lambda r: r.supervisor == boss and r.phase == "active")
        sup = await channel_named(acme, "PJSIP/acme-bob-")
        await channel_named(acme, "Snoop/")
    # Stopped (as a kill would leave it): the supervisor still listens, nobody carries the session out.
    assert {c["name"].split("/")[0] for c in acme.channels()} >= {"Snoop"}
    async with running_voice(acme.settings, Clock(datetime.now(UTC))):
        ended = await row_where(acme, lambda r: r.id == row.id and r.phase == "ended")
        await no_channel(acme, "Snoop/")
        await no_channel(acme, "PJSIP/acme-bob-")
        assert f"tvoxcc-listen-{sup['id']}" not in bridges(acme)
        await asyncio.to_thread(supervisor.wait, 20)
        supervisor.check()  # hung up (the supervisor dials again)
        await bridge_is(acme, talk["name"], {caller_id, agent["id"]})  # the call itself goes on
        await asyncio.to_thread(call.wait, 40)
        await asyncio.to_thread(answering.wait, 20)
    assert ended.end_reason == "failed" and ended.duration_s is not None
