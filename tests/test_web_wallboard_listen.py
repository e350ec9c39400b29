"""The wallboard's Listen button in a real headless Chromium (SQLite and PostgreSQL): a supervisor sees it on the
agent who is on a call (not on the paused one), a click asks POST …/agents/{agent}/listen and the page shows
the answer — the refusal while no phone is linked to the supervisor, then "your phone rings" and the request
stored for the voice service. An agent's wallboard has no Listen button."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import select, update

from tests.components import require_program
from tests.e2e.cdp import Chromium, Page
from tests.web_world import PASSWORD, Clock, live_world, seed
from tvoxcc.config import WebSettings
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.web.app import build_app

ALICE = "tr[data-agent='alice'] td.listen"
BOB = "tr[data-agent='bob'] td.listen"


@pytest.fixture
def chromium() -> str:
    return require_program("chromium", "scripts/system-deps.sh installs Debian's chromium")


@pytest.fixture
async def site(store: Store) -> AsyncIterator[str]:
    """acme's live snapshot (alice busy on a call, bob paused) written by the real LiveWriter; the web app."""
    await seed(store)
    _, writer = await live_world(store, Clock())
    await writer.close()
    runner = web.AppRunner(build_app(store, WebSettings(secret=SecretStr("w" * 32), poll_interval=0.05), clock=Clock()))
    await runner.setup()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def open_wallboard(page: Page, base: str, user: str) -> None:
    await page.goto(f"{base}/wallboard/acme")
    await page.wait_for("document.getElementById('login') !== null")
    await page.eval(
        f"document.getElementById('username').value = {user!r};"
        f"document.getElementById('password').value = {PASSWORD!r};"
        "document.getElementById('login').submit(); true"
    )
    await page.wait_for("document.querySelector(\"tr[data-agent='alice']\") !== null")


async def listen_result(page: Page, previous: str = "") -> str:
    await page.eval(f'document.querySelector("{ALICE} button").click(); true')
    expression = f'document.querySelector("{ALICE} .listen-result")?.textContent.trim()'
    return str(
        await page.wait_for(
            f"({expression}) && ({expression}) !== 'asking…' && ({expression}) !== {previous!r} && ({expression})"
        )
    )


async def test_a_supervisor_listens_from_the_wallboard(chromium: str, site: str, store: Store, tmp_path: Path) -> None:
    async with Chromium.launch(chromium, tmp_path / "profile") as browser:
        sara = await browser.new_page(isolated=True)
        await open_wallboard(sara, site, "sara")
        assert await sara.eval(f'document.querySelector("{ALICE} button")?.textContent') == "Listen"
        assert await sara.eval(f'document.querySelector("{BOB} button")') is None  # paused: no call
        refused = await listen_result(sara)
        assert refused.startswith("no phone is linked to your user")
        async with store.session() as session:  # sara works on bob's phone
            bob = await session.scalar(select(m.Agent.id).where(m.Agent.name == "bob"))
            await session.execute(update(m.User).where(m.User.username == "sara").values(agent_id=bob))
            await session.commit()
        accepted = await listen_result(sara, refused)
        async with store.session() as session:
            rows = (await session.execute(select(m.ListenSession).order_by(m.ListenSession.id))).scalars().all()
        assert [(r.supervisor, r.agent, r.refused, r.phase) for r in rows][-1] == ("sara", "alice", None, "requested")
        assert accepted == f"your phone acme-bob rings (session {rows[-1].id})"

        al = await browser.new_page(isolated=True)
        await open_wallboard(al, site, "al")  # an agent: their own row, no Listen column
        assert await al.eval("document.querySelector('td.listen, th + th + th + th + th') === null")
