"""Webchat end to end in headless Chromium: a visitor's widget page and two agents' desktops, one ACD.

The web app talks to the ACD only through the store (acd_inputs / acd_commands), as `web run` does with
the ACD in `acd run` or `voice run`. The visitor opens a chat from the widget; ann's desktop is offered it
with the screen pop of the visitor's journey (a VIP contact), accepts, they talk; the visitor's page and
ann's desktop each reload mid-chat and show the same numbered transcript, nothing missing and nothing
twice; ann transfers the chat to the billing queue, bob's desktop (another browser context) accepts it,
answers and closes it. With nobody logged in, the widget takes a message that becomes a ticket.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import select

from tests.components import require_program
from tests.e2e.cdp import Chromium, Page
from tvoxcc.acd import AcdService, InStore, StoreConfig
from tvoxcc.admin.edit import import_document
from tvoxcc.admin.passwords import hash_password
from tvoxcc.admin.spec import TenantDoc
from tvoxcc.config import WebSettings
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import upgrade
from tvoxcc.web.app import build_app

PASSWORD = "desk password"
DOC = {
    "tenant": {"name": "acme"},
    "services": [{"name": "web", "channels": ["chat", "mail"]}, {"name": "billing", "channels": ["chat"]}],
    "queues": [{"name": "chat", "service": "web"}, {"name": "billing", "service": "billing"}],
    "agents": [
        {"name": "ann", "extension": "201", "queues": ["chat"], "capacity": {"chat": 2}},
        {"name": "bob", "extension": "202", "queues": ["billing"], "capacity": {"chat": 2}},
        {"name": "cid", "extension": "203", "queues": ["billing"], "capacity": {"chat": 2}},
    ],
}
LOG = "[...document.querySelectorAll('{sel} li[data-seq]')].map(li => li.dataset.seq + ':' + li.lastChild.textContent)"
WIDGET_LOG = LOG.format(sel="#tvoxcc-log")


def desk_log(chat: int) -> str:
    return LOG.format(sel=f'section.chat[data-chat="{chat}"] ol')


@pytest.fixture
def chromium() -> str:
    return require_program("chromium", "scripts/system-deps.sh installs Debian's chromium")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Store, str]]:
    """The tenant, its agents' users, a VIP contact; the ACD routing in a task; the web app on a free port."""
    url = f"sqlite:///{tmp_path / 'chat.db'}"
    await asyncio.to_thread(upgrade, url)
    store = Store.from_url(url)
    await import_document(store, TenantDoc.model_validate(DOC))
    async with store.session() as session:
        tenant_id = (await session.execute(select(m.Tenant.id))).scalar_one()
        agents = dict((await session.execute(select(m.Agent.name, m.Agent.id))).all())
        hashed = hash_password(PASSWORD)
        for name in ("ann", "bob", "cid"):
            session.add(m.User(username=name, role="agent", password_hash=hashed, tenant_id=tenant_id,
                               agent_id=agents[name]))  # fmt: skip
        contact = m.Contact(tenant_id=tenant_id, display_name="Carla Bianchi", company="Bianchi Srl", vip=True)
        session.add(contact)
        await session.flush()
        session.add(m.ContactEmail(tenant_id=tenant_id, contact_id=contact.id, email="carla@example.com"))
        await session.commit()
    acd = AcdService(store, StoreConfig(store), transports=[InStore()], rng=random.Random(1))
    assert await acd.start(wait=False)
    stop = asyncio.Event()
    routing = asyncio.create_task(acd.run(stop, poll_s=0.05))
    runner = web.AppRunner(build_app(store, WebSettings(secret=SecretStr("chat-secret-" * 3), poll_interval=0.1)))
    await runner.setup()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield store, f"http://127.0.0.1:{port}"
    await runner.cleanup()
    stop.set()
    await routing
    await store.dispose()


async def open_desktop(page: Page, base: str, user: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base}/agent")
    await page.wait_for("location.pathname === '/login' && document.getElementById('login') !== null")
    await page.eval(
        f"document.getElementById('username').value = {user!r};"
        f"document.getElementById('password').value = {password!r};"
        "document.getElementById('login').submit(); true"
    )
    await page.wait_for(
        "location.pathname === '/agent' && document.getElementById('desk-status').textContent === 'connected'"
    )


def visible(selector: str) -> str:
    return f"document.querySelector({selector!r}) && !document.querySelector({selector!r}).closest('[hidden]')"


async def click(page: Page, selector: str) -> None:
    await page.wait_for(visible(selector))
    await page.eval(f"document.querySelector({selector!r}).click(); true")


async def type_in(page: Page, field: str, button: str, text: str) -> None:
    await page.wait_for(visible(field))
    await page.eval(f"document.querySelector({field!r}).value = {text!r}; true")
    await click(page, button)


async def shows(page: Page, expression: str, expected: list[str]) -> None:
    """The transcript is exactly ``expected`` (numbers and texts), once it caught up."""
    try:
        await page.wait_for(f"JSON.stringify({expression}) === {json_list(expected)!r}", within=15)
    except AssertionError:
        raise AssertionError(f"shown: {await page.eval(expression)}, expected {expected}") from None


def json_list(items: list[str]) -> str:
    return json.dumps(items, separators=(",", ":"))


async def test_a_chat_from_the_widget_answered_transferred_and_reloaded_on_both_sides(
    world: tuple[Store, str], chromium: str, tmp_path: Path
) -> None:
    store, base = world
    async with Chromium.launch(chromium, tmp_path / "profile") as browser:
        ann = await browser.new_page(isolated=True)
        await open_desktop(ann, base, "ann")
        await click(ann, "#desk-login")
        await ann.wait_for("document.getElementById('desk-state').textContent === 'available'")
        customer = await browser.new_page(isolated=True)
        await customer.goto(f"{base}/chat/demo/acme/web")
        await customer.wait_for("document.getElementById('tvoxcc-name') !== null")
        await customer.eval("document.getElementById('tvoxcc-email').value = 'carla@example.com'; true")
        await type_in(customer, "#tvoxcc-name", "#tvoxcc-open", "Carla <b>Bianchi</b>")
        # Offered to ann with the screen pop of Carla's journey.
        chat = int(await ann.wait_for("document.querySelector('section.chat.offered')?.dataset.chat"))
        pop = await ann.wait_for(f"document.querySelector('section.chat[data-chat=\"{chat}\"] .pop').textContent")
        assert "Carla Bianchi (Bianchi Srl) · VIP" in pop and "open tickets 0" in pop
        status = await customer.eval("document.getElementById('tvoxcc-status').textContent")
        assert status.startswith("You are number 1") or status == "An agent is about to answer…"
        await click(ann, f'section.chat[data-chat="{chat}"] .accept')
        await customer.wait_for("document.getElementById('tvoxcc-status').textContent === 'Connected.'")
        await type_in(customer, "#tvoxcc-text", "#tvoxcc-send", "Hello, my invoice <script>x</script>")
        panel = f'section.chat[data-chat="{chat}"]'
        await type_in(ann, f"{panel} textarea.text", f"{panel} .send", "Hi Carla, let me look")
        expected = ["1:ann joined", "2:Hello, my invoice <script>x</script>", "3:Hi Carla, let me look"]
        await shows(customer, WIDGET_LOG, expected)
        await shows(ann, desk_log(chat), expected)
        # HTML from people is text: the visitor's name and message make no element.
        assert await ann.eval("document.querySelector('section.chat b, section.chat script') === null")
        assert await customer.eval("document.querySelector('#tvoxcc-log script') === null")

        if shots := os.environ.get("TVOXCC_SCREENSHOTS"):
            await customer.screenshot(Path(shots) / "chat-widget.png")
            await ann.screenshot(Path(shots) / "agent-desktop.png")

        # The visitor reloads mid-chat while ann writes: the transcript comes back whole, once.
        await customer.eval("location.reload(); true")
        await type_in(ann, f"{panel} textarea.text", f"{panel} .send", "Found it: invoice 42")
        expected.append("4:Found it: invoice 42")
        await shows(customer, WIDGET_LOG, expected)
        # Ann reloads while the visitor writes.
        await ann.eval("location.reload(); true")
        await type_in(customer, "#tvoxcc-text", "#tvoxcc-send", "It is wrong")
        expected.append("5:It is wrong")
        await ann.wait_for("document.getElementById('desk-status').textContent === 'connected'")
        await shows(ann, desk_log(chat), expected)
        await shows(customer, WIDGET_LOG, expected)

        # Transfer to billing: bob's desktop (another browser context) is offered it.
        bob = await browser.new_page(isolated=True)
        await open_desktop(bob, base, "bob")
        await click(bob, "#desk-login")
        await ann.eval(f"document.querySelector('{panel} select.transfer-queue').value = 'billing'; true")
        await click(ann, f"{panel} .transfer")
        await ann.wait_for(f"document.querySelector('{panel}').classList.contains('closed')")
        await click(bob, f"{panel}.offered .accept")
        await type_in(bob, f"{panel} textarea.text", f"{panel} .send", "Bob from billing: fixed")
        expected += ["6:transferred to billing", "7:bob joined", "8:Bob from billing: fixed"]
        await shows(customer, WIDGET_LOG, expected)
        await shows(bob, desk_log(chat), expected)
        await click(bob, f"{panel} .close")
        expected.append("9:closed by bob")
        await shows(customer, WIDGET_LOG, expected)
        await customer.wait_for("document.getElementById('tvoxcc-status').textContent === 'The chat has ended.'")
    async with store.session() as session:
        stored = (await session.execute(select(m.ChatMessage.seq).order_by(m.ChatMessage.seq))).scalars().all()
    assert stored == list(range(1, 10))  # every message stored once


async def test_with_nobody_logged_in_the_widget_leaves_a_message_as_a_ticket(
    world: tuple[Store, str], chromium: str, tmp_path: Path
) -> None:
    store, base = world
    async with Chromium.launch(chromium, tmp_path / "profile") as browser:
        customer = await browser.new_page()
        await customer.goto(f"{base}/chat/demo/acme/web")
        await customer.wait_for("document.getElementById('tvoxcc-name') !== null")
        await customer.eval("document.getElementById('tvoxcc-email').value = 'dan@example.com'; true")
        await type_in(customer, "#tvoxcc-name", "#tvoxcc-open", "Dan")
        await type_in(customer, "#tvoxcc-leave-body", "#tvoxcc-leave-send", "Please call me back")
        status = await customer.wait_for(
            "document.getElementById('tvoxcc-status').textContent.startsWith('Thank you') &&"
            " document.getElementById('tvoxcc-status').textContent"
        )
    assert status == "Thank you: your message is T-1001. We will answer by e-mail."
    async with store.session() as session:
        body = await session.scalar(select(m.TicketMessage.body_text))
    assert body == "Please call me back"
