"""The ARI events websocket survives an Asterisk restart: Disconnected, backoff, Connected(reconnect=True).

Restarts the lab Asterisk (``lab.lab.down()`` then ``lab.lab.up(lab.current)``) on the session's lab.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tvoxcc.ari import AriClient, Backoff, Connected, Disconnected, StreamItem

pytestmark = pytest.mark.asterisk


async def _next(stream: Any, kind: type[StreamItem], within: float) -> StreamItem:
    async with asyncio.timeout(within):
        while True:
            item = await anext(stream)
            if isinstance(item, kind):
                return item


async def test_events_websocket_reconnects_after_restart(lab: Any) -> None:
    async with AriClient.from_settings(lab.settings) as ari:
        events = ari.events(backoff=Backoff(initial=0.2, factor=2.0, cap=2.0), heartbeat=2.0)
        stream = aiter(events)
        try:
            first = await _next(stream, Connected, 10)
            assert isinstance(first, Connected) and not first.reconnect

            await asyncio.to_thread(lab.lab.down)
            lost = await _next(stream, Disconnected, 15)
            assert isinstance(lost, Disconnected) and lost.reason

            await asyncio.to_thread(lab.lab.up, lab.current)
            back = await _next(stream, Connected, 30)
            assert isinstance(back, Connected) and back.reconnect
            # The app is registered again: Asterisk knows it, REST works on the same client.
            app = await ari.applications.get(lab.settings.asterisk.ari_app)
            assert app.name == lab.settings.asterisk.ari_app
            assert events.connects == 2
        finally:
            await events.close()
            await stream.aclose()
