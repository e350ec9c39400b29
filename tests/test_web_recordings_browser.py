"""The recordings page in a real headless Chromium: an agent logs in, sees their call, and the browser's
<audio> element loads and plays the (encrypted at rest) recording from the web app."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import select

from tests.components import require_program
from tests.e2e.cdp import Chromium
from tests.recording_files import make_wav
from tests.web_world import NOW, PASSWORD, Clock, seed
from tvoxcc import audit
from tvoxcc.config import RecordingSettings, TenantRecordingSettings, WebSettings
from tvoxcc.recordings.repository import RecordingMeta, Repository
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import upgrade
from tvoxcc.web.app import build_app

AUDIO = "document.querySelector('audio')"


@pytest.fixture
def chromium() -> str:
    return require_program("chromium", "scripts/system-deps.sh installs Debian's chromium")


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[str, Store, dict[str, int]]]:
    url = f"sqlite:///{tmp_path / 'web.db'}"
    await asyncio.to_thread(upgrade, url)  # alembic runs its own event loop
    store = Store.from_url(url)
    await seed(store)
    key = SecretStr(base64.b64encode(b"k" * 32).decode())
    repository = Repository(RecordingSettings(tenants={"acme": TenantRecordingSettings(key=key)}), tmp_path / "data")
    async with store.session() as s:
        agents = {a.name: a for a in (await s.execute(select(m.Agent))).scalars()}
    ids = {}
    for name, seconds in (("alice", 6.0), ("bob", 2.0)):
        agent = agents[name]
        audio = make_wav(tmp_path / f"{name}.wav", seconds).read_bytes()
        meta = RecordingMeta(agent.tenant_id, NOW - timedelta(minutes=5), agent_id=agent.id, number="+3902555")
        ids[name] = await repository.store(store, "acme", meta, audio)
    app = build_app(store, WebSettings(secret=SecretStr("b" * 32)), clock=Clock(), recordings=repository)
    runner = web.AppRunner(app)
    await runner.setup()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", store, ids
    await runner.cleanup()
    await store.dispose()


async def test_an_agent_plays_their_recording_in_the_browser(
    chromium: str, site: tuple[str, Store, dict[str, int]], tmp_path: Path
) -> None:
    base, store, ids = site
    async with Chromium.launch(chromium, tmp_path / "profile") as browser:
        page = await browser.new_page()
        await page.goto(f"{base}/recordings/acme")
        await page.wait_for("location.pathname === '/login' && document.getElementById('login') !== null")
        await page.eval(
            "document.getElementById('username').value = 'al';"
            f"document.getElementById('password').value = {PASSWORD!r};"
            "document.getElementById('login').submit(); true"
        )
        await page.wait_for("location.pathname === '/recordings/acme'")
        assert await page.eval("document.querySelectorAll('audio').length") == 1  # alice's call, not bob's
        assert await page.eval(f"{AUDIO}.getAttribute('src')") == f"/api/tenants/acme/recordings/{ids['alice']}/audio"
        # As a person's click on the player: a user gesture, so the browser's autoplay policy lets it play.
        await page.send(
            "Runtime.evaluate",
            {
                "expression": f"{AUDIO}.muted = true; {AUDIO}.play().catch(e => window.playError = String(e)); true",
                "userGesture": True,
            },
        )
        duration = await page.wait_for(f"{AUDIO}.readyState >= 1 && {AUDIO}.duration", within=15)
        assert duration == pytest.approx(6.0, abs=0.05)
        await page.wait_for(f"window.playError || {AUDIO}.currentTime > 0.5", within=15)
        assert await page.eval("window.playError || null") is None
        assert await page.eval(f"{AUDIO}.error") is None
    async with store.session() as session:
        plays = await audit.entries(session, action=audit.AuditAction.RECORDING_PLAY)
    assert plays and {(r["actor"], r["subject"]) for r in plays} == {("web:al", f"recording {ids['alice']}")}
