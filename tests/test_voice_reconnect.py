"""After a reconnect (tvoxcc.voice.reconnect): which cached bridges and channels Asterisk no longer has."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.ari_stand_in import ari_stand_in
from tvoxcc.ari import AriClient
from tvoxcc.voice.reconnect import gone, live_channels, lost_bridges

BRIDGES = {"kept": 200, "restarted": 404, "busy": 500}  # bridge id -> the status its GET answers


async def bridge(request: web.Request) -> web.Response:
    status = BRIDGES[request.match_info["id"]]
    body = {"id": request.match_info["id"], "bridge_type": "holding"} if status == 200 else {"message": "no"}
    return web.json_response(body, status=status)


async def channels(request: web.Request) -> web.Response:
    return web.json_response([{"id": "c1", "name": "PJSIP/caller-1", "state": "Up"}])


@pytest.fixture
async def ari() -> AsyncIterator[AriClient]:
    app = web.Application()
    app.router.add_get("/ari/bridges/{id}", bridge)
    app.router.add_get("/ari/channels", channels)
    async with ari_stand_in(app) as client:
        yield client


def test_gone_keeps_order_and_names_each_once() -> None:
    assert gone(["a", "b", "a", "c", "d"], {"b", "d"}) == ["a", "c"]
    assert gone([], {"a"}) == []


async def test_only_a_404_proves_a_bridge_lost(ari: AriClient) -> None:
    holding = {"acme/sales": "kept", "acme/support": "restarted", "beta/help": "busy"}
    assert await lost_bridges(ari, holding) == ["acme/support"]  # a 500 proves nothing: kept


async def test_live_channels(ari: AriClient) -> None:
    assert await live_channels(ari) == {"c1"}
    unreachable = AriClient("http://127.0.0.1:9", "tvoxcc", "secret", "tvoxcc")
    try:
        assert await live_channels(unreachable) is None  # cannot say: nothing is dropped
    finally:
        await unreachable.close()
