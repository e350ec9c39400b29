"""Agent feature codes from a SIP phone, served by the FastAGI routes and applied to the ACD at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Tvox
from tests.e2e.test_voice_acd import Clock, answered_by, caller, register
from tests.e2e.voice import interactions, running_voice, wait_until_ended
from tvoxcc.lab.sipp import Sipp, SippAgent

pytestmark = pytest.mark.asterisk

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture(scope="module")
def acme(lab: Any) -> Iterator[Any]:
    tvox = Tvox(lab.config_path)
    tvox.ok("import", str(DATA / "e2e-acme.yaml"))
    tvox.ok("import", str(DATA / "e2e-acme-agents.yaml"))
    tvox.ok("activity", "add", "-t", "acme", "lunch", "--code", "11")
    tvox.ok("prompts", "render", "-t", "acme")
    yield lab
    tvox.ok("activity", "remove", "-t", "acme", "lunch")


@pytest.fixture
def phones(acme: Any, sipp: Sipp) -> Iterator[dict[str, SippAgent]]:
    password = next(a.password for a in acme.agents if a.endpoint == "acme-alice")
    agents = {name: SippAgent(sipp, f"acme-{name}", password) for name in ("alice", "bob")}
    yield agents
    sipp.cleanup()
    for agent in agents.values():
        agent.unregister().check()


async def test_pause_skips_the_agent_and_unpause_brings_it_back(
    acme: Any, sipp: Sipp, phones: dict[str, SippAgent]
) -> None:
    before = len(await interactions(acme.settings))
    async with running_voice(acme.settings, Clock(datetime.now(UTC))) as app:
        acd: Any = app.handoff
        await register(acme, phones, "alice", "bob")
        await asyncio.to_thread(lambda: phones["alice"].dial("*7311").check())
        assert acd.service.agent_status("acme-alice") == "paused"
        await asyncio.to_thread(lambda: phones["alice"].dial("*7399").check())  # no such code: refused
        assert acd.service.agent_status("acme-alice") == "paused"

        phones["bob"].answer(ring_ms=200)
        first = await asyncio.to_thread(caller(sipp, 3000).wait, 30)
        first.check()
        rows = await wait_until_ended(acme.settings, 1)
        assert await answered_by(acme.settings, rows[before]) == "bob"  # alice, longest idle, is paused

        await asyncio.to_thread(lambda: phones["alice"].dial("*74").check())
        assert acd.service.agent_status("acme-alice") == "available"
        await asyncio.to_thread(lambda: phones["bob"].dial("*72").check())
        assert acd.service.agent_status("acme-bob") == "logged-out"
        phones["alice"].answer(ring_ms=200)
        second = await asyncio.to_thread(caller(sipp, 3000).wait, 30)
        second.check()
        rows = await wait_until_ended(acme.settings, 2)
        assert await answered_by(acme.settings, rows[before + 1]) == "alice"
        await asyncio.to_thread(lambda: phones["bob"].dial("*71").check())
        assert acd.service.agent_status("acme-bob") == "available"

    log = (acme.settings.data_dir / "queue_log").read_text()
    assert "|acme/sales-it|acme-alice|PAUSE|lunch" in log and "|acme/sales-it|acme-alice|UNPAUSE|" in log
    assert "|acme-bob|AGENTLOGOFF|" in log
