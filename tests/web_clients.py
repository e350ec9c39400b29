"""Clients of a real `build_app` on a test server, each logged in as a user of tests.web_world (own cookie)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from tests.web_world import PASSWORD
from tvoxcc.config import WebSettings
from tvoxcc.web.app import CONTEXT

Client = TestClient[Any, Any]
Login = Callable[[str | None], Awaitable[Client]]
WEB_SETTINGS = WebSettings(secret=SecretStr("s" * 32), poll_interval=0.05)


@contextlib.asynccontextmanager
async def logins(make_app: Callable[[], web.Application], *, poll_first: bool = False) -> AsyncIterator[Login]:
    """``login(username)`` (None: not logged in) → a client of a fresh app; all closed at the end.
    ``poll_first``: the live hub reads the snapshot before the first request (pages that show it)."""
    clients: list[Client] = []

    async def login(username: str | None) -> Client:
        client: Client = TestClient(TestServer(make_app()))
        await client.start_server()
        clients.append(client)
        if poll_first:
            assert client.app is not None
            await client.app[CONTEXT].hub.poll_once()
        if username is not None:
            response = await client.post("/login", json={"username": username, "password": PASSWORD})
            assert response.status == 200, await response.text()
        return client

    try:
        yield login
    finally:
        for client in clients:
            await client.close()
