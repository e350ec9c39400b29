"""Typing hints in headless Chromium, both ways: the visitor types in the widget and ann's desktop says so;
ann types and the widget says so; a message sent clears the hint. Hints are never stored. And outside the
service's business hours the widget goes straight to leave-a-message. Chats are interactions: Insight counts
them per channel and the journey lists them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from tests.e2e.cdp import Chromium, Page
from tests.e2e.test_web_chat import chromium, click, open_desktop, type_in, world  # noqa: F401 (fixtures)
from tvoxcc.insight.api import build_report
from tvoxcc.insight.model import Dimension
from tvoxcc.insight.report import records
from tvoxcc.journey.api import journey_for
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


async def test_outside_business_hours_the_widget_goes_straight_to_leave_a_message(
    world: tuple[Store, str],  # noqa: F811
    chromium: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """ann is logged in (the service is staffed) but today is a holiday of the service: no chat opens."""
    store, base = world
    today = datetime.now(UTC).date()
    async with store.session() as session:
        await session.execute(
            update(m.Service)
            .where(m.Service.name == "web")
            .values(business_hours="mon-sun 00:00-24:00", holidays=[str(today + timedelta(days=d)) for d in (-1, 0, 1)])
        )
        await session.commit()
    async with Chromium.launch(chromium, tmp_path / "profile") as browser:
        ann = await browser.new_page(isolated=True)
        await open_desktop(ann, base, "ann")
        await click(ann, "#desk-login")
        await ann.wait_for("document.getElementById('desk-state').textContent === 'available'")
        customer = await browser.new_page(isolated=True)
        await customer.goto(f"{base}/chat/demo/acme/web")
        await customer.wait_for("document.getElementById('tvoxcc-email') !== null")
        await customer.eval("document.getElementById('tvoxcc-email').value = 'dan@example.com'; true")
        await type_in(customer, "#tvoxcc-name", "#tvoxcc-open", "Dan")
        await customer.wait_for("document.getElementById('tvoxcc-status').textContent === 'We are closed now.'")
        await type_in(customer, "#tvoxcc-leave-body", "#tvoxcc-leave-send", "Call me tomorrow")
        await customer.wait_for("document.getElementById('tvoxcc-status').textContent.startsWith('Thank you')")
    async with store.session() as session:
        assert await session.scalar(select(func.count()).select_from(m.Chat)) == 0  # no chat was opened
        assert await session.scalar(select(m.TicketMessage.body_text)) == "Call me tomorrow"


async def interactions_ended(store: Store, count: int) -> list[m.Interaction]:
    """The chat interactions once ``count`` of them ended (the web app follows them about once a second)."""
    for _ in range(100):
        async with store.session() as session:
            rows = list((await session.execute(select(m.Interaction).where(m.Interaction.channel == "chat"))).scalars())
        if len([r for r in rows if r.ended_at is not None]) >= count:
            return rows
        await asyncio.sleep(0.2)
    raise AssertionError(f"chat interactions: {[(r.id, r.outcome, r.ended_at) for r in rows]}")


async def test_chats_are_interactions_counted_by_insight_per_channel_and_in_the_journey(
    world: tuple[Store, str],  # noqa: F811
    chromium: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Carla's chat answered and closed by ann; Dan gives up while his chat is offered: one answered, one
    abandoned, in Insight's chat row and in Carla's journey."""
    store, base = world
    async with Chromium.launch(chromium, tmp_path / "profile") as browser:
        ann = await browser.new_page(isolated=True)
        await open_desktop(ann, base, "ann")
        await click(ann, "#desk-login")
        await ann.wait_for("document.getElementById('desk-state').textContent === 'available'")
        carla = await browser.new_page(isolated=True)
        await carla.goto(f"{base}/chat/demo/acme/web")
        await carla.wait_for("document.getElementById('tvoxcc-email') !== null")
        await carla.eval("document.getElementById('tvoxcc-email').value = 'carla@example.com'; true")
        await type_in(carla, "#tvoxcc-name", "#tvoxcc-open", "Carla")
        chat = int(await ann.wait_for("document.querySelector('section.chat.offered')?.dataset.chat"))
        panel = f'section.chat[data-chat="{chat}"]'
        await click(ann, f"{panel} .accept")
        await type_in(ann, f"{panel} textarea.text", f"{panel} .send", "Hi Carla")
        await carla.wait_for("document.getElementById('tvoxcc-log').textContent.includes('Hi Carla')")
        await click(ann, f"{panel} .close")

        dan = await browser.new_page(isolated=True)
        await dan.goto(f"{base}/chat/demo/acme/web")
        await type_in(dan, "#tvoxcc-name", "#tvoxcc-open", "Dan")
        await ann.wait_for(f"document.querySelector('section.chat.offered:not([data-chat=\"{chat}\"])') !== null")
        await click(dan, "#tvoxcc-end")
        await dan.wait_for("document.getElementById('tvoxcc-status').textContent === 'The chat has ended.'")
    rows = await interactions_ended(store, 2)
    assert sorted(str(r.outcome) for r in rows) == ["abandoned", "answered"]
    async with store.session() as session:
        tenant = (await session.execute(select(m.Tenant))).scalar_one()
    today = datetime.now(ZoneInfo(tenant.timezone or "UTC")).date()
    report = records(await build_report(store, "acme", today, today, Dimension.CHANNEL, plots=False))
    row = next(r for r in report if r["channel"] == "chat")
    assert (row["offered"], row["answered"], row["abandoned"]) == (2, 1, 1), row
    assert row["asa_s"] is not None and row["aht_s"] is not None and row["aht_s"] > 0
    async with store.tenant(tenant.id) as session:
        timeline = await journey_for(session, "carla@example.com")
    chats = [e for e in timeline.entries if e.channel == "chat"]
    assert len(chats) == 1 and getattr(chats[0], "outcome", None) == "answered", chats


async def test_a_chat_transferred_to_a_named_agent_is_offered_to_them_alone(
    world: tuple[Store, str],  # noqa: F811
    chromium: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """ann hands Carla's chat to bob by name: it waits in billing (bob's queue), where cid, idle for longer, is
    not offered it — bob is, and takes it."""
    _, base = world
    async with Chromium.launch(chromium, tmp_path / "profile") as browser:
        desks = {}
        for name in ("cid", "bob", "ann"):  # cid logs in first: the longest idle of billing
            desks[name] = page = await browser.new_page(isolated=True)
            await open_desktop(page, base, name)
            await click(page, "#desk-login")
            await page.wait_for("document.getElementById('desk-state').textContent === 'available'")
        ann, bob, cid = desks["ann"], desks["bob"], desks["cid"]
        carla = await browser.new_page(isolated=True)
        await carla.goto(f"{base}/chat/demo/acme/web")
        await type_in(carla, "#tvoxcc-name", "#tvoxcc-open", "Carla")
        chat = int(await ann.wait_for("document.querySelector('section.chat.offered')?.dataset.chat"))
        panel = f'section.chat[data-chat="{chat}"]'
        await click(ann, f"{panel} .accept")
        await ann.wait_for(f"document.querySelector('{panel} select.transfer-agent')?.options.length === 2")
        assert await ann.eval(
            f"[...document.querySelector('{panel} select.transfer-agent').options].map(o => o.value)"
        ) == ["bob", "cid"]
        await ann.eval(f"document.querySelector('{panel} select.transfer-agent').value = 'bob'; true")
        await click(ann, f"{panel} .transfer-to-agent")
        await ann.wait_for(f"document.querySelector('{panel}').classList.contains('closed')")
        await click(bob, f"{panel}.offered .accept")
        await carla.wait_for("document.getElementById('tvoxcc-log').textContent.includes('bob joined')")
        assert await cid.eval("document.querySelector('section.chat') === null")  # never offered to cid
        log = await carla.eval("[...document.querySelectorAll('#tvoxcc-log li')].map(li => li.lastChild.textContent)")
        assert log == ["ann joined", "transferred to bob", "bob joined"]
        # A transfer to oneself is refused, with its reason on the desktop.
        await bob.wait_for(f"document.querySelector('{panel} select.transfer-agent') !== null")
        await bob.eval(f"document.querySelector('{panel} select.transfer-agent').value = 'ann'; true")
        await bob.eval(f"document.querySelector('{panel} .transfer-agent').add(new Option('bob', 'bob')); true")
        await bob.eval(f"document.querySelector('{panel} select.transfer-agent').value = 'bob'; true")
        await click(bob, f"{panel} .transfer-to-agent")
        await bob.wait_for("document.getElementById('desk-error').textContent === 'the chat is yours already'")
