"""On the lab: an agent answers a queue call, hangs up and dials *76<code> in wrap-up; the interaction shows the
disposition (an unknown code is refused and changes nothing). And a supervisor scoped to a group is refused
*80 on an agent of no group of theirs (the one rights rule, on the phone)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.cli import Tvox
from tests.e2e.test_voice_acd import answered_by, caller, register
from tests.e2e.voice import SettableClock, interactions, running_voice, wait_until_ended
from tvoxcc.lab.sipp import Sipp, SippAgent
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

pytestmark = pytest.mark.asterisk

DATA = Path(__file__).parents[1] / "data"
CODE, NAME = "95", "e2e-sale"
TEAM = "e2e-h2-team"  # a group with no agent in it


class LaterClock(SettableClock):
    """A Monday morning in Rome (the IVR is open) later than any call of the lab session: *76 goes to the
    agent's last contact by answer time, and other modules' calls of this agent run on the real clock."""

    def __call__(self) -> datetime:
        return datetime(2030, 3, 4, 9, 0, tzinfo=UTC) + (datetime.now(UTC) - self.now)


@pytest.fixture(scope="module")
def acme(lab: Any) -> Iterator[Any]:
    tvox = Tvox(lab.config_path)
    tvox.ok("import", str(DATA / "e2e-acme.yaml"))
    tvox.ok("import", str(DATA / "e2e-acme-agents.yaml"))
    codes = tvox.ok("activity", "list", "-t", "acme")
    if NAME not in codes:  # kept between runs: interactions refer to it once used
        tvox.ok("activity", "add", "-t", "acme", NAME, "--code", CODE, "--kind", "disposition")
    if TEAM not in tvox.ok("group", "list", "-t", "acme"):
        tvox.ok("group", "add", "-t", "acme", TEAM)
    tvox.ok("prompts", "render", "-t", "acme")
    yield lab


@pytest.fixture
def phones(acme: Any, sipp: Sipp) -> Iterator[dict[str, SippAgent]]:
    password = next(a.password for a in acme.agents if a.endpoint == "acme-alice")
    agents = {name: SippAgent(sipp, f"acme-{name}", password) for name in ("alice", "bob")}
    yield agents
    sipp.cleanup()
    agents["alice"].unregister().check()


async def disposition_of(settings: Any, interaction: int) -> str | None:
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        name = await session.scalar(
            select(m.ActivityCode.name)
            .join(m.Interaction, m.Interaction.activity_code_id == m.ActivityCode.id)
            .where(m.Interaction.id == interaction)
        )
    await store.dispose()
    return name


async def refusals(settings: Any, supervisor: str) -> list[str | None]:
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        rows = await session.execute(
            select(m.ListenSession.refused).where(m.ListenSession.supervisor == supervisor).order_by(m.ListenSession.id)
        )
        found = [r for (r,) in rows.all()]
    await store.dispose()
    return found


async def test_star_76_sets_the_disposition_and_a_scoped_supervisor_is_refused_star_80(
    acme: Any, sipp: Sipp, phones: dict[str, SippAgent]
) -> None:
    tvox = Tvox(acme.config_path)
    before = len(await interactions(acme.settings))
    async with running_voice(acme.settings, LaterClock(datetime.now(UTC))):
        await register(acme, phones, "alice")
        phones["alice"].answer(ring_ms=200)
        call = await asyncio.to_thread(caller(sipp, 2000).wait, 30)
        call.check()
        rows = await wait_until_ended(acme.settings, 1)
        talked = rows[before]
        assert await answered_by(acme.settings, talked) == "alice"
        assert await disposition_of(acme.settings, talked["id"]) is None

        await asyncio.to_thread(lambda: phones["alice"].dial(f"*76{CODE}").check())  # in wrap-up
        assert await disposition_of(acme.settings, talked["id"]) == NAME
        await asyncio.to_thread(lambda: phones["alice"].dial("*769999").check())  # no such code: refused
        assert await disposition_of(acme.settings, talked["id"]) == NAME

        # A supervisor scoped to a group bob is not in, on alice's phone: *80 on bob (1002) is refused.
        scoped = f"scoped-{secrets.token_hex(3)}"
        await asyncio.to_thread(
            tvox.ok, "user", "add", scoped, "--role", "supervisor", "-t", "acme", "--agent", "alice", "--groups", TEAM
        )
        try:
            await asyncio.to_thread(lambda: phones["alice"].dial("*801002").check())
            assert await refusals(acme.settings, scoped) == ["out-of-scope"]
        finally:
            await asyncio.to_thread(tvox.ok, "user", "remove", scoped)
