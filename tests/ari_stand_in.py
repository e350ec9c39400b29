"""Asterisk's ARI played by an aiohttp app of the test's own routes (``/ari/…``), on a free port; the client aimed
at it, both closed afterwards.

    app = web.Application()
    app.router.add_get("/ari/channels", channels)
    async with ari_stand_in(app) as ari:
        await ari.channels.list()
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.test_utils import TestServer

from tvoxcc.ari import AriClient


@asynccontextmanager
async def ari_stand_in(app: web.Application, password: str = "secret") -> AsyncIterator[AriClient]:
    server = TestServer(app)
    await server.start_server()
    client = AriClient(f"http://127.0.0.1:{server.port}", "tvoxcc", password, "tvoxcc")
    try:
        yield client
    finally:
        await client.close()
        await server.close()
