"""A callback's customer leg at a reconnect (tvoxcc.voice.acd ``on_connected``), on SQLite and PostgreSQL: the real
voice ACD (its embedded ACD service, the callback rows) against an ARI stand-in whose originate waits for the test.

While its originate request is under way the customer's channel is in no list of Asterisk's: a reconnect then must
not take it for gone (it was failed, and retried, while the customer's phone rang). Once the originate returned, a
reconnect that finds the channel gone does end the attempt (no hang-up event will ever come for it).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select

from tests.ari_stand_in import ari_stand_in
from tests.cli import Tvox
from tvoxcc.interactions import Outcome
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.acd import CALLBACK_LEG, AcdQueue
from tvoxcc.voice.acd_config import AcdDirectory
from tvoxcc.voice.callback_status import CallbackStatus
from tvoxcc.voice.directory import Directory

NUMBER = "+390212345678"
TENANT = """\
tenant: {name: acme, timezone: Europe/Rome, country: IT}
services:
  - {name: sales, dids: ["1000"]}
queues:
  - {name: sales-it, service: sales}
agents:
  - {name: alice, extension: "1001", queues: [sales-it]}
outbound:
  endpoint: "PJSIP/{number}@acme-pstn"
  caller_id: "+390299990000"
  trunk: {name: acme-pstn, host: 127.0.0.1, port: 5070}
  ring_seconds: 20
"""


@dataclass
class Asterisk:
    """What the stand-in answers: the live channels (as the test sets them), and each originate held until
    ``release`` is set."""

    live: set[str] = field(default_factory=set)
    originated: list[str] = field(default_factory=list)  # channel ids, as each request arrives
    originate_reached: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    listed: asyncio.Event = field(default_factory=asyncio.Event)  # set at each channel list (cleared by the test)
    hung_up: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/ari/channels", self.originate)
        app.router.add_get("/ari/channels", self.channels)
        app.router.add_delete("/ari/channels/{id}", self.hangup)
        app.router.add_get("/ari/bridges", self.no_bridges)
        app.router.add_post("/ari/applications/{name}/subscription", self.subscribed)
        app.router.add_get("/ari/endpoints/PJSIP", self.endpoints)
        return app

    async def originate(self, request: web.Request) -> web.Response:
        channel_id = request.query["channelId"]
        self.originated.append(channel_id)
        self.originate_reached.set()
        await self.release.wait()
        return web.json_response({"id": channel_id, "name": f"PJSIP/acme-pstn-{len(self.originated)}", "state": "Down"})

    async def channels(self, request: web.Request) -> web.Response:
        self.listed.set()
        return web.json_response([{"id": c, "name": f"PJSIP/{c}", "state": "Ring"} for c in sorted(self.live)])

    async def hangup(self, request: web.Request) -> web.Response:
        self.hung_up.append(request.match_info["id"])
        return web.Response(status=204)

    async def no_bridges(self, request: web.Request) -> web.Response:
        return web.json_response([])

    async def subscribed(self, request: web.Request) -> web.Response:
        return web.json_response({"name": request.match_info["name"], "channel_ids": [], "bridge_ids": []})

    async def endpoints(self, request: web.Request) -> web.Response:
        return web.json_response([{"technology": "PJSIP", "resource": "acme-alice", "state": "online"}])


@pytest.fixture
async def callback_id(tvox_any: Tvox, db_url: str, tmp_path: Path) -> int:
    """Tenant acme (one agent, an outbound route) and a pending callback request of its queue sales-it."""
    source = tmp_path / "acme.yaml"
    source.write_text(TENANT)
    await asyncio.to_thread(tvox_any.ok, "import", str(source))
    store = Store.from_url(db_url)
    try:
        directory = Directory(store)
        route = await directory.route("acme", "sales")
        asked = await directory.open_interaction(route, await directory.identify(route, NUMBER), "1.1", _now())
        requested = await directory.request_callback(route, asked, "sales-it", NUMBER, _now())
        await directory.recorder.flush()
    finally:
        await store.dispose()
    return requested


def _now() -> datetime:
    return datetime.now(UTC)


async def _attempt(store: Store, callback_id: int) -> tuple[str, int, str | None, str | None]:
    """The callback row's status and attempts, its last attempt's channel and outcome."""
    async with store.session() as session:
        row = await session.get(m.Callback, callback_id)
        assert row is not None
        attempt = (
            await session.execute(select(m.Interaction).where(m.Interaction.id == row.placed_as_id))
        ).scalar_one_or_none()
        return row.status, row.attempts, attempt.external_id if attempt else None, attempt.outcome if attempt else None


async def test_a_callback_being_originated_is_not_gone_at_a_reconnect_and_one_placed_and_gone_is_ended(
    callback_id: int, db_url: str
) -> None:
    asterisk = Asterisk()
    store = Store.from_url(db_url)
    async with ari_stand_in(asterisk.app()) as ari:
        voice = AcdQueue(ari, AcdDirectory(store), _now, callback_poll_s=3600, config_poll_s=3600)
        try:
            await voice.start()  # takes the pending request: a callback item of sales-it, nobody to take it yet
            item_id = f"callback-{callback_id}"
            assert item_id in voice.callbacks
            await voice.on_connected()  # the first connection: alice's phone is online, her turn to call back
            await asterisk.originate_reached.wait()
            (channel_id,) = asterisk.originated
            assert channel_id.startswith(CALLBACK_LEG) and voice.dialing == {channel_id: item_id}
            assert await _attempt(store, callback_id) == (CallbackStatus.DIALING, 1, channel_id, None)

            # A reconnect while the originate request is under way: Asterisk lists no channel of it yet.
            asterisk.listed.clear()
            reconnect = asyncio.create_task(voice.on_connected())
            await asterisk.listed.wait()  # the check saw no channel while the originate still waited
            asterisk.live.add(channel_id)  # the request returns: Asterisk has the channel (the phone rings)
            asterisk.release.set()
            await reconnect
            await voice.lanes.run(item_id, asyncio.sleep(0))  # the attempt's work in its lane is done
            assert voice.dialing == {channel_id: item_id} and voice.originating == set()
            assert voice.callbacks[item_id].channel_id == channel_id and asterisk.hung_up == []
            assert await _attempt(store, callback_id) == (CallbackStatus.DIALING, 1, channel_id, None)

            # Placed and still ringing: a reconnect keeps it.
            await voice.on_connected()
            assert voice.dialing == {channel_id: item_id}
            assert await _attempt(store, callback_id) == (CallbackStatus.DIALING, 1, channel_id, None)

            # Asterisk restarted meanwhile: its channel is gone, no hang-up event will come; the attempt ends
            # (the router retries it later).
            asterisk.live.clear()
            await voice.on_connected()
            assert voice.dialing == {} and item_id in voice.callbacks
            assert await _attempt(store, callback_id) == (CallbackStatus.QUEUED, 1, channel_id, Outcome.NO_ANSWER)
            assert len(asterisk.originated) == 1  # its retry is due only after callback_retry_s
        finally:
            asterisk.release.set()
            await voice.close()
            await store.dispose()
