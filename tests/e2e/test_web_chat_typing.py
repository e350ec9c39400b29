"""Typing hints in headless Chromium, both ways: the visitor types in the widget and ann's desktop says so;
ann types and the widget says so; a message sent clears the hint. Hints are never stored."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from tests.e2e.cdp import Chromium, Page
from tests.e2e.test_web_chat import chromium, click, open_desktop, type_in, world  # noqa: F401 (fixtures)
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


async def typing(page: Page, field: str, text: str) -> None:
    """Keys in ``field`` as a person types them: its value changes and an input event bubbles."""
    await page.eval(
        f"const f = document.querySelector({field!r}); f.value = {text!r};"
        "f.dispatchEvent(new Event('input', { bubbles: true })); true"
    )


async def test_typing_hints_both_ways(world: tuple[Store, str], chromium: str, tmp_path: Path) -> None:  # noqa: F811
    store, base = world
    async with Chromium.launch(chromium, tmp_path / "profile") as browser:
        ann = await browser.new_page(isolated=True)
        await open_desktop(ann, base, "ann")
        await click(ann, "#desk-login")
        await ann.wait_for("document.getElementById('desk-state').textContent === 'available'")
        customer = await browser.new_page(isolated=True)
        await customer.goto(f"{base}/chat/demo/acme/web")
        await type_in(customer, "#tvoxcc-name", "#tvoxcc-open", "Carla")
        chat = int(await ann.wait_for("document.querySelector('section.chat.offered')?.dataset.chat"))
        panel = f'section.chat[data-chat="{chat}"]'
        await click(ann, f"{panel} .accept")
        await customer.wait_for("document.getElementById('tvoxcc-status').textContent === 'Connected.'")

        await typing(customer, "#tvoxcc-text", "Hel")
        await ann.wait_for(f"document.querySelector('{panel} .typing')?.textContent === 'The visitor is typing…'")
        await type_in(customer, "#tvoxcc-text", "#tvoxcc-send", "Hello")
        await ann.wait_for(f"document.querySelector('{panel} .typing').textContent === ''")

        await typing(ann, f"{panel} textarea.text", "Hi Car")
        await customer.wait_for("document.getElementById('tvoxcc-typing').textContent === 'ann is typing…'")
        await type_in(ann, f"{panel} textarea.text", f"{panel} .send", "Hi Carla")
        await customer.wait_for("document.getElementById('tvoxcc-typing').textContent === ''")
    async with store.session() as session:
        bodies = (await session.execute(select(m.ChatMessage.body).order_by(m.ChatMessage.seq))).scalars().all()
        count = await session.scalar(select(func.count()).select_from(m.ChatMessage))
    assert list(bodies) == ["ann joined", "Hello", "Hi Carla"] and count == 3  # hints are not messages
