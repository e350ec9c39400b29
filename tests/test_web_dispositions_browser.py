"""The desktop's disposition picker in a real headless Chromium: shown only while the agent is in wrap-up, it
lists the tenant's dispositions, and picking one stores it on the agent's last call; an unknown one is refused."""

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
from tests.web_world import PASSWORD, Clock, seed
from tvoxcc.config import WebSettings
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import upgrade
from tvoxcc.web.app import build_app

PICKER = "document.getElementById('desk-disposition')"


@pytest.fixture
def chromium() -> str:
    return require_program("chromium", "scripts/system-deps.sh installs Debian's chromium")


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[str, Store]]:
    url = f"sqlite:///{tmp_path / 'web.db'}"
    await asyncio.to_thread(upgrade, url)  # alembic runs its own event loop
    store = Store.from_url(url)
    await seed(store)
    async with store.session() as s:
        acme = await s.scalar(select(m.Tenant.id).where(m.Tenant.name == "acme"))
        s.add(m.ActivityCode(tenant_id=acme, code="90", name="sale", kind="disposition"))
        s.add(m.ActivityCode(tenant_id=acme, code="1", name="lunch", kind="pause"))
        s.add(m.AcdAgent(agent_id="acme-alice", tenant_id=acme, status="busy", logged_in=True))
        await s.commit()
    app = build_app(store, WebSettings(secret=SecretStr("d" * 32), poll_interval=0.05), clock=Clock())
    runner = web.AppRunner(app)
    await runner.setup()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", store
    await runner.cleanup()
    await store.dispose()


async def test_the_agent_picks_a_disposition_in_wrap_up(chromium: str, site: tuple[str, Store], tmp_path: Path) -> None:
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
        await page.wait_for(
            "location.pathname === '/agent' && document.getElementById('desk-state').textContent === 'busy'"
        )
        assert await page.eval(f"{PICKER}.hidden") is True  # on the call: no picker yet

        async with store.session() as s:  # the call ends: the ACD puts alice in wrap-up
            await s.execute(update(m.AcdAgent).where(m.AcdAgent.agent_id == "acme-alice").values(status="wrap-up"))
            await s.commit()
        await page.eval("location.reload(); true")  # the desk shows the stored state when it (re)connects
        await page.wait_for("document.getElementById('desk-state').textContent === 'wrap-up'")
        await page.wait_for(f"!{PICKER}.hidden")
        await page.wait_for("document.getElementById('desk-disposition-code').options.length === 1")
        assert await page.eval("document.getElementById('desk-disposition-code').options[0].textContent") == "90 sale"
        await page.eval("document.getElementById('desk-dispose').click(); true")
        await page.wait_for("document.getElementById('desk-disposed').dataset.result === 'ok'")
        assert await page.eval("document.getElementById('desk-disposed').textContent") == "✓ sale"

        await page.eval(
            "var o = document.createElement('option'); o.value = '77'; o.textContent = '77 bogus';"
            "document.getElementById('desk-disposition-code').appendChild(o);"
            "document.getElementById('desk-disposition-code').value = '77';"
            "document.getElementById('desk-dispose').click(); true"
        )
        await page.wait_for("document.getElementById('desk-disposed').dataset.result === 'refused'")
        assert "no disposition with code '77'" in await page.eval(
            "document.getElementById('desk-disposed').textContent"
        )

    async with store.session() as s:
        coded = (
            await s.execute(
                select(m.Agent.name, m.ActivityCode.name)
                .join(m.Interaction, m.Interaction.agent_id == m.Agent.id)
                .join(m.ActivityCode, m.ActivityCode.id == m.Interaction.activity_code_id)
            )
        ).all()
    assert coded == [("alice", "sale")]
