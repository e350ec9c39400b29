"""The wallboard in a real headless Chromium against the real lab Asterisk.

Refuses without login (redirect to /login), loads after login, and shows a caller entering the queue —
pushed by the server (no reload) while a sipp caller waits in a queue nobody serves — and leaving it.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr

from tests.cli import Tvox
from tests.components import require_program
from tests.e2e.cdp import Chromium, Page
from tests.e2e.test_voice_acd import DATA, DID, Clock
from tests.e2e.voice import running_voice
from tvoxcc.config import WebSettings
from tvoxcc.lab.sipp import Sipp, caller_scenario
from tvoxcc.queues import model as q
from tvoxcc.store.engine import Store
from tvoxcc.web.app import build_app

pytestmark = pytest.mark.asterisk

PASSWORD = "wallboard password"
WAITING = "document.querySelector('tr[data-queue=\"sales-it\"] td.waiting')?.textContent"


@pytest.fixture(scope="module")
def acme(lab: Any) -> Iterator[Any]:
    tvox = Tvox(lab.config_path)
    tvox.ok("import", str(DATA / "e2e-acme.yaml"))
    tvox.ok("import", str(DATA / "e2e-acme-agents.yaml"))
    tvox.ok("prompts", "render", "-t", "acme")
    tvox.ok("user", "add", "wb-sara", "--role", "supervisor", "-t", "acme", "--password-stdin", input=PASSWORD + "\n")
    yield lab


@pytest.fixture
def chromium() -> str:
    return require_program("chromium", "scripts/system-deps.sh installs Debian's chromium")


@pytest.fixture
async def wallboard(acme: Any) -> AsyncIterator[str]:
    """The web app in this process on a free loopback port; yields its base URL."""
    store = Store.from_url(acme.settings.database.url.get_secret_value())
    settings = WebSettings(secret=SecretStr("e2e-secret-" * 3), poll_interval=0.2)
    runner = web.AppRunner(build_app(store, settings))
    await runner.setup()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()
    await store.dispose()


async def log_in(page: Page, base: str) -> None:
    await page.goto(f"{base}/wallboard/acme/sales-it")
    # Without a session the page is refused: the browser lands on the login form, asked to come back.
    await page.wait_for("location.pathname === '/login' && document.getElementById('login') !== null")
    assert await page.eval("location.search") == "?next=/wallboard/acme/sales-it"
    await page.eval(
        "document.getElementById('username').value = 'wb-sara';"
        f"document.getElementById('password').value = {PASSWORD!r};"
        "document.getElementById('login').submit(); true"
    )
    await page.wait_for("location.pathname === '/wallboard/acme/sales-it'")
    await page.wait_for("document.getElementById('status')?.textContent === 'live'")


async def test_wallboard_refuses_without_login_then_follows_a_caller_live(
    acme: Any, sipp: Sipp, chromium: str, wallboard: str, tmp_path: Path
) -> None:
    async with Chromium.launch(chromium, tmp_path / "profile") as browser:
        page = await browser.new_page()
        await log_in(page, wallboard)
        assert await page.wait_for(WAITING) == "0"
        assert await page.eval("document.querySelector('tr[data-agent=\"alice\"] td.state').textContent")
        await page.eval("window.sameDocument = true")  # a reload would lose it: updates must be pushed
        async with running_voice(acme.settings, Clock(datetime.now(UTC))) as app:
            queued_at: list[float] = []
            hook = app.handoff.on_change  # type: ignore[attr-defined]

            def note(outputs: q.Outputs) -> None:
                if any(e.kind is q.EventKind.ITEM_QUEUED for e in outputs.events):
                    queued_at.append(time.time())
                hook(outputs)

            app.handoff.on_change = note  # type: ignore[attr-defined]
            await page.eval(
                "window.shownAt = null; new MutationObserver(() => {"
                f" if (!window.shownAt && {WAITING} === '1') window.shownAt = Date.now() / 1000;"
                "}).observe(document.getElementById('queues'), {subtree: true, childList: true, characterData: true})"
            )
            call = sipp.start(caller_scenario(DID, "1", wait_ms=800, gap_ms=9000, hangup="us"), service=DID)
            assert await page.wait_for(WAITING, within=15) in ("0", "1")
            await page.wait_for(f"{WAITING} === '1'", within=15)
            shown_at = await page.wait_for("window.shownAt")
            assert await page.eval("window.sameDocument") is True
            longest = await page.eval("document.querySelector('tr[data-queue=\"sales-it\"] td.longest').textContent")
            assert longest.endswith("s") and int(longest.rstrip("s")) < 3600  # the voice clock: 1970 would be decades
            assert queued_at, "the ACD never queued the call"
            print(f"wallboard: caller shown {shown_at - queued_at[0]:.3f} s after the router queued it")
            await asyncio.to_thread(call.wait, 30)
            call.check()
            await page.wait_for(f"{WAITING} === '0'", within=10)  # the caller hung up: gone from the board
        # Logging out ends the session: the wallboard refuses again.
        await page.eval("document.querySelector('form.logout').submit(); true")
        await page.wait_for("location.pathname === '/login'")
        await page.goto(f"{wallboard}/wallboard/acme")
        await page.wait_for("location.pathname === '/login' && location.search === '?next=/wallboard/acme'")
