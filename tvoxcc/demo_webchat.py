"""`tvoxcc demo`'s webchat step: the web app on a free port, a visitor opening a chat as the widget does (its
HTTP API and websocket), Mario answering it on his desktop's websocket (logged in with a session as the page
is), the ACD routing it in between; then the visitor's journey beside the transcript — the call from the
start of the demo and this chat, one contact found by phone and by e-mail."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import select

from tvoxcc.acd import AcdService, InStore, StoreConfig
from tvoxcc.admin.passwords import hash_password
from tvoxcc.config import WebSettings
from tvoxcc.journey.api import journey_for, screen_pop_for
from tvoxcc.journey.render import pop_text
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.web.app import build_app

EMAIL = "carla.bianchi@example.test"
WITHIN_S = 20.0
ROME = ZoneInfo("Europe/Rome")  # the demo tenant's time zone


@contextlib.asynccontextmanager
async def _serving(store: Store) -> AsyncIterator[str]:
    """The ACD routing (as `acd run` does) and the web app (as `web run` does) on a free loopback port."""
    acd = AcdService(store, StoreConfig(store), transports=[InStore()], rng=random.Random(1))
    await acd.start()  # the voice service's ACD is gone by now: its lease is free
    stop = asyncio.Event()
    routing = asyncio.create_task(acd.run(stop, poll_s=0.05))
    settings = WebSettings(secret=SecretStr(secrets.token_urlsafe(32)), poll_interval=0.1)
    runner = web.AppRunner(build_app(store, settings))
    await runner.setup()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        stop.set()
        await routing


async def _until(ws: aiohttp.ClientWebSocketResponse, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first event on ``ws`` that is ``wanted``."""
    async with asyncio.timeout(WITHIN_S):
        while True:
            event = json.loads((await ws.receive()).data)
            if wanted(event):
                return dict(event)


async def webchat_answered(store: Store, tenant_name: str, agent: str, say: Callable[[str], None]) -> None:
    async with store.session() as session:
        tenant_id, agent_id, display = (
            await session.execute(
                select(m.Agent.tenant_id, m.Agent.id, m.Agent.display_name)
                .join(m.Tenant)
                .where(m.Tenant.name == tenant_name, m.Agent.name == agent)
            )
        ).one()
        password = secrets.token_urlsafe(12)
        session.add(m.User(username=agent, role="agent", password_hash=hash_password(password), tenant_id=tenant_id,
                           agent_id=agent_id))  # fmt: skip
        carla = await session.scalar(select(m.Contact).where(m.Contact.display_name == "Carla Bianchi"))
        if carla is not None:  # the demo's caller gives her e-mail in the widget: the same contact
            session.add(m.ContactEmail(tenant_id=tenant_id, contact_id=carla.id, email=EMAIL))
        await session.commit()
    async with _serving(store) as base, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{base}/login", json={"username": agent, "password": password}) as response:
            response.raise_for_status()
        desk = await http.ws_connect(f"{base}/agent/ws")
        await desk.send_json({"type": "login"})
        await _until(desk, lambda e: e.get("type") == "state" and e["agent"]["status"] == "available")
        say(f"demo: {display} logs in on the agent desktop ({base}/agent); Carla opens the web chat widget")
        async with aiohttp.ClientSession() as visitor:
            url = f"{base}/chat/api/{tenant_name}/web/open"
            async with visitor.post(url, json={"name": "Carla Bianchi", "email": EMAIL}) as response:
                opened = await response.json()
            chat = opened["chat"]
            widget = await visitor.ws_connect(f"{base}/chat/ws/{tenant_name}/{chat}?token={opened['token']}")
            pop = await _until(desk, lambda e: e.get("type") == "pop" and e.get("chat") == chat)
            contact = pop["pop"].get("contact") or {}
            say(f"demo: chat {chat} offered to {agent} with the screen pop of {contact.get('display_name')}"
                f" (VIP {pop['pop'].get('vip')}, {len(pop['pop'].get('open_tickets', []))} open tickets)")  # fmt: skip
            await desk.send_json({"type": "accept", "chat": chat})
            await desk.send_json({"type": "sync", "chat": chat, "after": 0})
            await _until(widget, lambda e: e.get("type") == "state" and e.get("status") == "connected")
            await widget.send_json({"type": "say", "body": "Hi, can I change my delivery address?", "cid": "c1"})
            await _until(desk, lambda e: e.get("type") == "msg" and e.get("sender") == "customer")
            reply = "Of course Carla: I have updated it to Via Roma 1."
            await desk.send_json({"type": "say", "chat": chat, "body": reply, "cid": "a1"})
            await _until(widget, lambda e: e.get("type") == "msg" and e.get("body") == reply)
            await desk.send_json({"type": "close", "chat": chat})
            last = await _until(widget, lambda e: e.get("type") == "msg" and "closed by" in e.get("body", ""))
            await widget.close()
        await desk.close()
        await asyncio.sleep(1.5)  # the web app follows the chat's interaction about once a second
    say(f"Webchat {chat}, transcript ({last['seq']} messages, numbered: a reload replays from any number):")
    async with store.tenant(tenant_id) as session:
        rows = await session.execute(
            select(m.ChatMessage.seq, m.ChatMessage.sender, m.ChatMessage.body)
            .where(m.ChatMessage.chat_id == chat)
            .order_by(m.ChatMessage.seq)
        )
        for seq, sender, body in rows.all():
            say(f"  {seq}. {sender:<8} {body}")
        timeline = await journey_for(session, EMAIL)
        summary = await screen_pop_for(session, EMAIL)
    say("Beside it, Carla's journey (tvoxcc journey show -t acme " + EMAIL + "):")
    for entry in timeline.entries:
        outcome = getattr(entry, "outcome", "") or getattr(entry, "status", "")
        say(f"  {entry.started.astimezone(ROME):%H:%M:%S}  {entry.channel:<5} {outcome}")
    for line in pop_text(summary, ROME).splitlines():
        say(f"  {line}")
