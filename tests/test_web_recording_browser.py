"""The desktop's "Pause recording" / "Resume recording" button in a real headless Chromium: hidden without a
recorded call, shown while one is connected; each click stores the request the voice service takes; hidden
again when the call ends."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import select, update

from tests.components import require_program
from tests.e2e.cdp import Chromium
from tests.web_world import NOW, PASSWORD, Clock, seed
from tvoxcc.config import WebSettings
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import upgrade
from tvoxcc.web.app import build_app

BUTTON = "document.getElementById('recording-toggle')"
STATUS = "document.getElementById('recording-status')"


@pytest.fixture
def chromium() -> str:
    return require_program("chromium", "scripts/system-deps.sh installs Debian's chromium")


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[str, Store]]:
    url = f"sqlite:///{tmp_path / 'web.db'}"
    await asyncio.to_thread(upgrade, url)  # alembic runs its own event loop
    store = Store.from_url(url)
    await seed(store)
    app = build_app(store, WebSettings(secret=SecretStr("r" * 32), poll_interval=0.05), clock=Clock())
    runner = web.AppRunner(app)
    await runner.setup()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", store
    await runner.cleanup()
    await store.dispose()


async def actions(store: Store) -> list[str]:
    async with store.session() as s:
        return list((await s.execute(select(m.RecordingRequest.action).order_by(m.RecordingRequest.id))).scalars())


async def test_the_agent_pauses_and_resumes_from_the_button(
    chromium: str, site: tuple[str, Store], tmp_path: Path
) -> None:
    base, store = site
    async with Chromium.launch(chromium, tmp_path / "profile") as browser:
        page = await browser.new_page()
        await page.goto(f"{base}/agent")
        await page.wait_for("location.pathname === '/login' && document.getElementById('login') !== null")
        await page.eval(
            "document.getElementById('username').value = 'al';"
            f"document.getElementById('password').value = {PASSWORD!r};"
            "document.getElementById('login').submit(); true"
        )
        await page.wait_for(f"location.pathname === '/agent' && {BUTTON} !== null")
        assert await page.eval(f"{BUTTON}.hidden") is True  # no call: no button

        async with store.session() as s:  # alice answers a recorded call
            tenant, agent = (
                await s.execute(
                    select(m.Tenant.id, m.Agent.id).join(m.Agent, m.Agent.tenant_id == m.Tenant.id)
                    .where(m.Tenant.name == "acme", m.Agent.name == "alice")
                )
            ).one()  # fmt: skip
            call = m.Interaction(
                tenant_id=tenant, channel=Channel.VOICE, agent_id=agent, offered_at=NOW, answered_at=NOW,
                recording="tvoxcc-call-1",
            )  # fmt: skip
            s.add(call)
            await s.commit()
        await page.wait_for(f"!{BUTTON}.hidden && {BUTTON}.textContent === 'Pause recording'")
        await page.eval(f"{BUTTON}.click(); true")
        await page.wait_for(f"{STATUS}.textContent === 'recording paused'")
        assert await page.eval(f"{BUTTON}.textContent") == "Resume recording"
        assert await actions(store) == ["pause"]
        await page.eval(f"{BUTTON}.click(); true")
        await page.wait_for(f"{STATUS}.textContent === 'recording resumed'")
        assert await actions(store) == ["pause", "resume"]

        async with store.session() as s:  # the call ends
            await s.execute(update(m.Interaction).where(m.Interaction.id == call.id).values(ended_at=NOW))
            await s.commit()
        await page.wait_for(f"{BUTTON}.hidden")
