"""Two `tvoxcc web run` processes share chats on one PostgreSQL store (tvoxcc.chat.fanout: NOTIFY/LISTEN).

Real processes behind no balancer: the customer's widget socket is on web run 1, the agent's desktop on web
run 2, the ACD a `tvoxcc acd run`. A message each way arrives, numbered, once; the agent's typing hint and
close reach the customer. With one process per socket and no NOTIFY between them, neither side would see the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType
from sqlalchemy import select

from tests.conftest import _create_pg_database
from tests.servers.postgres import PostgresServer
from tvoxcc.admin.edit import import_document
from tvoxcc.admin.spec import TenantDoc
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import upgrade
from tvoxcc.store.types import utcnow
from tvoxcc.web import auth

ROOT = Path(__file__).resolve().parent.parent
WITHIN_S = 60.0  # a guard against hanging, not a measure: each step normally takes milliseconds
DOC = {
    "tenant": {"name": "acme"},
    "services": [{"name": "web", "channels": ["chat"]}],
    "queues": [{"name": "chat", "service": "web", "wrapup_seconds": 0}],
    "agents": [{"name": "ann", "extension": "201", "queues": ["chat"], "capacity": {"chat": 2}}],
}
Event = dict[str, Any]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    url = _create_pg_database(postgres)
    upgrade(url)
    return url


async def agent_session(url: str) -> str:
    """Tenant acme (chat service, queue, agent ann) and ann's user; the session token of that user."""
    store = Store.from_url(url)
    try:
        await import_document(store, TenantDoc.model_validate(DOC))
        async with store.session() as session:
            tenant_id = (await session.execute(select(m.Tenant.id))).scalar_one()
            agent_id = (await session.execute(select(m.Agent.id))).scalar_one()
            user = m.User(username="ann", role="agent", tenant_id=tenant_id, agent_id=agent_id)
            session.add(user)
            await session.commit()
            user_id = user.id
        return await auth.open_session(store, user_id, utcnow(), 4.0)
    finally:
        await store.dispose()


@contextmanager
def processes(url: str, tmp: Path) -> Iterator[list[str]]:
    """Two `web run`s (each with its own config and data directory) and an `acd run`; the web runs' URLs."""
    bases, started = [], []
    try:
        for name in ("web1", "web2", "acd"):
            data = tmp / name
            data.mkdir()
            config = data / "tvoxcc.toml"
            config.write_text(f'data_dir = "{data}"\n[database]\nurl = "{url}"\n[web]\nsecret = "{"s" * 32}"\n')
            env = {**os.environ, "TVOXCC_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
            argv = [sys.executable, "-m", "tvoxcc", "acd", "run"]
            if name != "acd":
                port = free_port()
                argv = [sys.executable, "-m", "tvoxcc", "web", "run", "--host", "127.0.0.1", "--port", str(port)]
                bases.append(f"http://127.0.0.1:{port}")
            with (data / "stderr.log").open("ab") as err:
                started.append(subprocess.Popen(argv, env=env, start_new_session=True, stderr=err))
        yield bases
    finally:
        for process in started:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(15)


async def up(http: aiohttp.ClientSession, base: str) -> None:
    async with asyncio.timeout(WITHIN_S):
        while True:
            try:
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)


class Socket:
    """A websocket whose events are all kept, read as they come."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[Event] = []
        self._new = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type is not WSMsgType.TEXT:
                break
            self.events.append(message.json())
            self._new.set()

    async def until(self, found: Callable[[Event], bool], what: str, nudge: Event | None = None) -> Event:
        """The first event kept that ``found`` accepts, waiting for it (``nudge`` sent again while waiting)."""
        try:
            async with asyncio.timeout(WITHIN_S):
                while True:
                    for event in self.events:
                        if found(event):
                            return event
                    self._new.clear()
                    if nudge is not None:
                        await self.ws.send_json(nudge)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(1.0 if nudge else None):
                            await self._new.wait()
        except TimeoutError:
            raise AssertionError(f"not within {WITHIN_S:g} s: {what} (events: {self.events})") from None

    def messages(self) -> list[Event]:
        return [event for event in self.events if event.get("type") == "msg"]

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()


@asynccontextmanager
async def socket_to(http: aiohttp.ClientSession, url: str, **kwargs: Any) -> AsyncIterator[Socket]:
    one = Socket(await http.ws_connect(url, **kwargs))
    try:
        yield one
    finally:
        await one.close()


def agent_state(event: Event) -> dict[str, Any] | None:
    return event if event.get("type") == "state" and "agent" in event else None


async def test_a_customer_on_one_web_run_and_the_agent_on_another_see_each_other(pg_url: str, tmp_path: Path) -> None:
    token = await agent_session(pg_url)
    with processes(pg_url, tmp_path) as (web1, web2):
        async with aiohttp.ClientSession(trust_env=False, cookie_jar=aiohttp.DummyCookieJar()) as http:
            await up(http, web1)
            await up(http, web2)
            cookie = {"Cookie": f"{auth.SESSION_COOKIE}={token}"}
            async with socket_to(http, f"{web2}/agent/ws", headers=cookie) as desk:
                await desk.ws.send_json({"type": "login"})
                await desk.until(
                    lambda e: (agent_state(e) or {}).get("agent", {}).get("status") == "available",
                    "ann logged in",
                    nudge={"type": "refresh"},
                )
                async with http.post(f"{web1}/chat/api/acme/web/open", json={"name": "Cleo", "email": ""}) as r:
                    opened = await r.json()
                chat = opened["chat"]
                widget_url = f"{web1}/chat/ws/acme/{chat}?token={opened['token']}&after=0"
                async with socket_to(http, widget_url) as widget:
                    await desk.until(
                        lambda e: any(c["chat"] == chat for c in (agent_state(e) or {}).get("chats", [])),
                        "the chat offered to ann",
                        nudge={"type": "refresh"},
                    )
                    await desk.ws.send_json({"type": "accept", "chat": chat})
                    await widget.until(lambda e: e.get("status") == "connected", "the customer sees ann joined")

                    await widget.ws.send_json({"type": "say", "body": "my parcel is late", "cid": "c1"})
                    asked = await desk.until(lambda e: e.get("cid") == "c1", "the customer's message on the desktop")
                    await desk.ws.send_json({"type": "typing", "chat": chat})
                    await widget.until(lambda e: e.get("type") == "typing", "the agent's typing hint in the widget")
                    await desk.ws.send_json({"type": "say", "chat": chat, "body": "let me look", "cid": "a1"})
                    answered = await widget.until(lambda e: e.get("cid") == "a1", "the agent's reply in the widget")
                    assert (asked["sender"], asked["body"], asked["chat"]) == ("customer", "my parcel is late", chat)
                    assert (answered["sender"], answered["body"], answered["agent"]) == ("agent", "let me look", "ann")
                    assert answered["seq"] > asked["seq"] >= 1

                    await desk.ws.send_json({"type": "close", "chat": chat})
                    await widget.until(lambda e: e.get("status") == "closed", "the agent's close in the widget")
                    # the system message the close stored follows the reply in the widget, replayed by number
                    await widget.until(lambda e: e.get("type") == "msg" and e["seq"] > answered["seq"], "closed")

                    seqs = [event["seq"] for event in widget.messages()]
                    assert seqs == sorted(set(seqs)) == list(range(1, seqs[-1] + 1))  # each once, none missing
                    assert [e["cid"] for e in widget.messages() if e.get("cid")] == ["c1", "a1"]
                    assert [e["cid"] for e in desk.messages() if e.get("cid")] == ["c1", "a1"]
