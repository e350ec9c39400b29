"""Voice at Asterisk's speed: 200 agent phones are all followed, and an Asterisk restart loses no new call.

Tenant "bulk" (its own DIDs, agents agent001..agent200) keeps the acme tenant of the other voice tests
apart. Every bulk phone REGISTERs from one UDP port (one sipp run each); Asterisk's rewrite_contact makes
that port their contact, so one answering sipp process on it answers for every agent.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from tests.cli import Tvox
from tests.e2e.conftest import AGENTS, DIDS
from tests.e2e.voice import SettableClock, interactions, running_voice, wait_until_ended
from tvoxcc.asterisk.inputs import AgentPhone, Did
from tvoxcc.lab.sipp import Sipp, SippRun, caller_scenario, free_udp_port
from tvoxcc.queues.model import AgentStatus
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.acd import AcdQueue
from tvoxcc.voice.app import VoiceApp

pytestmark = pytest.mark.asterisk

BULK = 200
DID = "5557000"
SHIFT_DID = "5557001"  # queue shift-q, served by agents shift01..shift20 only
MENU_DID = "5557002"  # a menu waiting 30 s for a digit: a caller stays in the IVR
PASSWORD = secrets.token_hex(8)
BULK_PHONES = tuple(AgentPhone("bulk", f"agent{i:03d}", str(3000 + i), PASSWORD) for i in range(1, BULK + 1))
SHIFT_PHONES = tuple(AgentPhone("bulk", f"shift{i:02d}", str(4000 + i), PASSWORD) for i in range(1, 21))


class RealClock(SettableClock):
    def __call__(self) -> datetime:
        return datetime.now(UTC)


def bulk_tenant() -> dict[str, Any]:
    def queue_only(service: str, queue: str) -> dict[str, Any]:
        return {"service": service, "start": "wait", "nodes": {"wait": {"type": "queue", "queue": queue}}}

    return {
        "tenant": {"name": "bulk", "timezone": "Europe/Rome", "country": "IT", "language": "en"},
        "services": [
            {"name": "line", "channels": ["voice"], "dids": [DID]},
            {"name": "shift", "channels": ["voice"], "dids": [SHIFT_DID]},
            {"name": "menu", "channels": ["voice"], "dids": [MENU_DID]},
        ],
        "queues": [
            {"name": "line-q", "service": "line", "strategy": "longest-idle", "ring_timeout_seconds": 5},
            {"name": "shift-q", "service": "shift"},
        ],
        "ivrs": [
            queue_only("line", "line-q"),
            queue_only("shift", "shift-q"),
            {
                "service": "menu",
                "start": "main",
                "nodes": {
                    "main": {
                        "type": "menu",
                        "prompts": ["sound:beep"],
                        "options": {"1": "wait"},
                        "timeout_seconds": 30,
                        "retries": 1,
                        "on_fail": "bye",
                    },
                    "wait": {"type": "queue", "queue": "shift-q"},
                    "bye": {"type": "hangup", "prompts": ["sound:goodbye"]},
                },
            },
        ],
        "agents": [{"name": p.name, "extension": p.extension, "queues": ["line-q"]} for p in BULK_PHONES]
        + [{"name": p.name, "extension": p.extension, "queues": ["shift-q"]} for p in SHIFT_PHONES],
    }


@pytest.fixture(scope="module")
def bulk(lab: Any) -> Iterator[tuple[AgentPhone, ...]]:
    path = lab.state_dir / "bulk-tenant.yaml"
    path.write_text(yaml.safe_dump(bulk_tenant()))
    Tvox(lab.config_path).ok("import", str(path))
    dids = (*DIDS, Did(DID, "bulk", "line"), Did(SHIFT_DID, "bulk", "shift"), Did(MENU_DID, "bulk", "menu"))
    lab.reload(lab.render_input(agents=AGENTS + BULK_PHONES + SHIFT_PHONES, dids=dids))
    yield BULK_PHONES


@pytest.fixture(scope="module")
def port() -> int:
    """Where every bulk phone registers from, and where the answering process listens."""
    return free_udp_port()


def acd_of(app: VoiceApp) -> AcdQueue:
    assert isinstance(app.handoff, AcdQueue)
    return app.handoff


async def register(sipp: Sipp, phones: tuple[AgentPhone, ...], port: int) -> None:
    """Every phone from ``port``, one after another (one socket per sipp run)."""
    for phone in phones:
        for attempt in range(3):
            run = await asyncio.to_thread(sipp.register, phone.endpoint, phone.password, port=port, rate_period_ms=10)
            # sipp also binds a video RTP port next to the media port it is given, which another process
            # may hold ("Unable to bind video RTP socket"): that run sent nothing; try it again.
            if run.returncode == 0 or attempt == 2 or "Unable to bind" not in run.errors:
                run.check()
                break


async def until(check: Callable[[], bool], what: Callable[[], str], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, what()
        await asyncio.sleep(0.1)


def statuses(acd: AcdQueue, phones: tuple[AgentPhone, ...]) -> dict[str, AgentStatus]:
    return {p.endpoint: acd.service.agent_status(p.endpoint) for p in phones}


def not_available(acd: AcdQueue, phones: tuple[AgentPhone, ...]) -> Callable[[], str]:
    return lambda: f"not logged in: {[a for a, s in statuses(acd, phones).items() if s != AgentStatus.AVAILABLE]}"


async def answered_by(settings: Any, rows: list[dict[str, Any]]) -> list[str | None]:
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        names = dict((await session.execute(select(m.Agent.id, m.Agent.name))).all())
        found = [await session.get(m.Interaction, row["id"]) for row in rows]
    await store.dispose()
    return [names.get(i.agent_id) if i is not None and i.agent_id else None for i in found]


def callers(sipp: Sipp, count: int, hold_ms: int, did: str = DID) -> SippRun:
    """``count`` callers at once on a bulk DID (straight into its queue), each on the line ``hold_ms``."""
    return sipp.start(caller_scenario(did, wait_ms=hold_ms, hangup="us"), service=did, calls=count, timeout_s=90)


async def test_200_agents_registered_after_start_are_all_logged_in_and_take_calls(
    lab: Any, bulk: tuple[AgentPhone, ...], sipp: Sipp, port: int
) -> None:
    before = len(await interactions(lab.settings))
    calls = 5
    async with running_voice(lab.settings, RealClock(datetime.now(UTC))) as app:
        acd = acd_of(app)
        assert set(statuses(acd, bulk).values()) == {AgentStatus.LOGGED_OUT}
        # Agents 128..200 first: the longest idle (first logged in) take the calls, so the calls prove
        # that phones past Asterisk's 127 sources per subscription request are followed.
        await register(sipp, bulk[127:] + bulk[:127], port)
        await until(lambda: set(statuses(acd, bulk).values()) == {AgentStatus.AVAILABLE}, not_available(acd, bulk))
        answering = sipp.answer("agent", port=port, calls=calls)
        ringing = callers(sipp, calls, hold_ms=6000)
        (await asyncio.to_thread(ringing.wait, 90)).check()
        (await asyncio.to_thread(answering.wait, 30)).check()  # every call answered by an agent phone
        rows = (await wait_until_ended(lab.settings, calls))[before:]
    assert len(rows) == calls and all(r["ended"] and r["outcome"] == "answered" for r in rows), rows
    agents = await answered_by(lab.settings, rows)
    assert all(a is not None and int(a.removeprefix("agent")) > 127 for a in agents), agents
    assert len(set(agents)) == calls  # each by another agent: all of them idle


async def test_after_an_asterisk_crash_every_new_call_reaches_an_agent(
    lab: Any, bulk: tuple[AgentPhone, ...], sipp: Sipp, port: int
) -> None:
    calls = 20
    agents = SHIFT_PHONES  # one each: nobody waits for a free agent
    before = len(await interactions(lab.settings))
    async with running_voice(lab.settings, RealClock(datetime.now(UTC))) as app:
        acd = acd_of(app)
        assert set(statuses(acd, agents).values()) == {AgentStatus.LOGGED_OUT}
        # A caller waits in shift-q (nobody there yet: the ACD makes its holding bridge), another listens to
        # a menu; then Asterisk dies without a word (SIGKILL: no hang-up event for anyone) and comes back.
        stranded = callers(sipp, 1, hold_ms=60000, did=SHIFT_DID)
        await until(lambda: "bulk/shift-q" in acd.holding, lambda: "the first caller never queued")
        in_menu = callers(sipp, 1, hold_ms=60000, did=MENU_DID)
        await until(lambda: len(app.calls) == 2, lambda: f"the second caller is not in the IVR: {list(app.calls)}")
        pid = lab.lab.running_pid()
        assert pid is not None
        os.killpg(pid, signal.SIGKILL)
        await until(lambda: not app.ready.is_set(), lambda: "the service did not see Asterisk go")
        await asyncio.to_thread(lab.down)  # forgets the dead PID
        await asyncio.to_thread(lab.up)
        await until(app.ready.is_set, lambda: "the service did not reconnect")
        stranded.process.kill()
        in_menu.process.kill()

        await register(sipp, agents, port)
        await until(lambda: set(statuses(acd, agents).values()) == {AgentStatus.AVAILABLE}, not_available(acd, agents))
        answering = sipp.answer("agent", port=port, calls=calls)
        ringing = callers(sipp, calls, hold_ms=6000, did=SHIFT_DID)
        (await asyncio.to_thread(ringing.wait, 120)).check()
        (await asyncio.to_thread(answering.wait, 30)).check()  # all 20 answered by agent phones
        rows = (await wait_until_ended(lab.settings, calls + 2))[before:]
    assert len(rows) == calls + 2
    assert all(r["ended"] for r in rows), [r for r in rows if not r["ended"]]  # none left open
    # The two callers the crash cut off, closed at the reconnect.
    assert [r["outcome"] for r in rows[:2]] == ["abandoned", "abandoned-in-ivr"]
    assert [r["outcome"] for r in rows[2:]] == ["answered"] * calls
    assert None not in await answered_by(lab.settings, rows[2:])
