"""Voice offers on the agent desktop, on the lab: a sipp caller dials DID 5554000, the ACD offers the call to
eve and her sipp phone rings; her desktop (headless Chromium, logged in as eve) shows the offer with the screen
pop of the caller's journey — the name of the contact whose number called, VIP, the open ticket — while the
phone rings, then the call connected when the phone answers, and ended after the caller hangs up. Declining
a ringing call on the desktop is ring-no-answer for the ACD."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import select

from tests.cli import Tvox
from tests.components import require_program
from tests.e2e.cdp import Chromium
from tests.e2e.test_voice_acd import online
from tests.e2e.test_web_chat import open_desktop
from tests.e2e.voice import SettableClock, running_voice
from tvoxcc.admin.passwords import hash_password
from tvoxcc.asterisk.inputs import AgentPhone, Did
from tvoxcc.config import WebSettings
from tvoxcc.lab.sipp import Sipp, SippAgent, caller_scenario
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.support.opening import open_ticket
from tvoxcc.web.app import build_app

pytestmark = pytest.mark.asterisk

DATA = Path(__file__).parents[1] / "data"
DID = "5554000"
CALLER = "caller"  # the lab's caller: its SIP From user is its number (the trunk knows it by that name)
PASSWORD = "desk password"  # eve's web login (the user linked to agent eve)


class RealClock(SettableClock):
    def __call__(self) -> datetime:
        return datetime.now(UTC)


@pytest.fixture(scope="module")
def deskco(lab: Any) -> Iterator[Any]:
    Tvox(lab.config_path).ok("import", str(DATA / "e2e-desk-voice.yaml"))
    before = lab.current
    password = lab.agents[0].password
    lab.reload(
        lab.render_input(
            agents=(*lab.agents, AgentPhone("deskco", "eve", "1001", password, "Eve Desk")),
            dids=(*lab.dids, Did(DID, "deskco", "front")),
        )
    )
    yield lab
    lab.reload(before)


@pytest.fixture
def chromium() -> str:
    return require_program("chromium", "scripts/system-deps.sh installs Debian's chromium")


@pytest.fixture
async def web_app(deskco: Any) -> AsyncIterator[tuple[Store, str]]:
    """Eve's web user, a VIP contact with the caller's number and an open ticket; the web app on a free port."""
    store = Store.from_url(deskco.settings.database.url.get_secret_value())
    async with store.session() as session:
        tenant_id = (await session.execute(select(m.Tenant.id).where(m.Tenant.name == "deskco"))).scalar_one()
        agent_id = (await session.execute(select(m.Agent.id).where(m.Agent.tenant_id == tenant_id))).scalar_one()
        if await session.scalar(select(m.User.id).where(m.User.username == "deskco-eve")) is None:
            session.add(m.User(username="deskco-eve", role="agent", password_hash=hash_password(PASSWORD),
                               tenant_id=tenant_id, agent_id=agent_id))  # fmt: skip
            await session.commit()
    async with store.tenant(tenant_id) as session:
        known = await session.scalar(select(m.ContactPhone.id).where(m.ContactPhone.number == CALLER))
    if known is None:  # once per session (the lab's store is the session's)
        async with store.tenant(tenant_id) as session:
            contact = m.Contact(tenant_id=tenant_id, display_name="Giulia Verdi", company="Verdi Spa", vip=True)
            contact.phones.append(m.ContactPhone(tenant_id=tenant_id, number=CALLER))
            session.add(contact)
            await session.flush()
            await open_ticket(session, subject="Broken router", now=datetime.now(UTC), service_id=None,
                              contact_id=contact.id)  # fmt: skip
            await session.commit()
    runner = web.AppRunner(build_app(store, WebSettings(secret=SecretStr("desk-secret-" * 3), poll_interval=0.1)))
    await runner.setup()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield store, f"http://127.0.0.1:{port}"
    await runner.cleanup()
    await store.dispose()


async def test_a_ringing_call_shows_on_the_desktop_with_the_callers_screen_pop(
    deskco: Any, sipp: Sipp, web_app: tuple[Store, str], chromium: str, tmp_path: Path
) -> None:
    _, base = web_app
    phone = SippAgent(sipp, "deskco-eve", deskco.agents[0].password)
    async with running_voice(deskco.settings, RealClock(datetime.now(UTC))):
        await asyncio.to_thread(phone.register().check)
        await online(deskco, "deskco-eve")
        async with Chromium.launch(chromium, tmp_path / "profile") as browser:
            eve = await browser.new_page(isolated=True)
            await open_desktop(eve, base, "deskco-eve", PASSWORD)
            await eve.wait_for("document.getElementById('desk-state').textContent === 'available'", within=15)
            ringing = phone.answer(ring_ms=4000)  # the phone rings 4 s before it answers
            calling = sipp.start(caller_scenario(DID, wait_ms=500, hold_ms=8000), service=DID)
            offered = "section.call.offered"
            pop = await eve.wait_for(f"document.querySelector('{offered} .pop')?.textContent", within=20)
            assert "Giulia Verdi (Verdi Spa) · VIP" in pop and "open tickets 1" in pop, pop
            title = await eve.eval(f"document.querySelector('{offered} h3').textContent")
            assert title == f"Giulia Verdi <{CALLER}>"
            meta = await eve.eval(f"document.querySelector('{offered} .meta').textContent")
            assert meta == "Call · queue front-desk · ringing"
            if shots := os.environ.get("TVOXCC_SCREENSHOTS"):
                await eve.screenshot(Path(shots) / "agent-desktop-call.png")
            # The phone answers: the same call, connected; the caller hangs up: ended.
            await eve.wait_for("document.querySelector('section.call.connected') !== null", within=15)
            await eve.wait_for("document.querySelector('section.call.ended') !== null", within=30)
            assert await eve.eval("document.querySelectorAll('section.call').length") == 1
        (await asyncio.to_thread(calling.wait, 30)).check()
        (await asyncio.to_thread(ringing.wait, 30)).check()
    sipp.cleanup()
    phone.unregister().check()


async def test_declining_a_ringing_call_on_the_desktop_is_ring_no_answer(
    deskco: Any, sipp: Sipp, web_app: tuple[Store, str], chromium: str, tmp_path: Path
) -> None:
    """Eve's phone rings (it would answer only after 15 s); she declines on the desktop: the ACD takes it as
    ring-no-answer (queue_log RINGNOANSWER), the voice service stops the ringing and the offer is gone."""
    _, base = web_app
    phone = SippAgent(sipp, "deskco-eve", deskco.agents[0].password)
    queue_log = deskco.settings.data_dir / "queue_log"
    mark = queue_log.stat().st_size if queue_log.exists() else 0
    async with running_voice(deskco.settings, RealClock(datetime.now(UTC))):
        await asyncio.to_thread(phone.register().check)
        await online(deskco, "deskco-eve")
        async with Chromium.launch(chromium, tmp_path / "profile") as browser:
            eve = await browser.new_page(isolated=True)
            await open_desktop(eve, base, "deskco-eve", PASSWORD)
            await eve.wait_for("document.getElementById('desk-state').textContent === 'available'", within=15)
            ringing = phone.answer(ring_ms=15000)
            calling = sipp.start(caller_scenario(DID, wait_ms=500, hold_ms=3000), service=DID)
            await eve.wait_for("document.querySelector('section.call.offered .decline-call') !== null", within=20)
            await eve.eval("document.querySelector('section.call.offered .decline-call').click(); true")
            await eve.wait_for("document.querySelector('section.call.missed') !== null", within=15)
            assert await eve.eval("document.getElementById('desk-error').textContent") == ""
        await asyncio.to_thread(calling.wait, 30)
        await asyncio.to_thread(ringing.wait, 30)  # cancelled while it rang: not a call it answered
    sipp.cleanup()
    phone.unregister().check()
    with queue_log.open("rb") as handle:
        handle.seek(mark)
        lines = handle.read().decode().splitlines()
    assert any("|deskco/front-desk|deskco-eve|RINGNOANSWER|" in line for line in lines), lines
    assert not any("|deskco/front-desk|deskco-eve|CONNECT|" in line for line in lines), lines
