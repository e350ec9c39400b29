"""A restarted voice service closes the calls a previous run left open though they are over (tvoxcc.voice.left_open,
``VoiceApp.resync``), on SQLite and PostgreSQL: the real voice app and ACD on a real store, Asterisk played by an
ARI stand-in (what it lists is what the test says is live).

The previous run was killed after the ACD committed the calls' ends but before the recorder wrote them: the store
holds their interactions open, the ACD no item of them, Asterisk no channel. Kept open: a call still live in
Asterisk (handed to the dialplan: not in the app), a call the restored ACD still holds (its own restart ends it),
an agent's outbound call (its own service ends those), one that ended already.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from sqlalchemy import select

from tests.ari_stand_in import ari_stand_in
from tests.cli import Tvox
from tvoxcc.acd import NewItem
from tvoxcc.interactions import Direction, Outcome
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.acd import AcdQueue
from tvoxcc.voice.acd_config import AcdDirectory
from tvoxcc.voice.app import VoiceApp
from tvoxcc.voice.directory import Directory

TENANT = """\
tenant: {name: acme, timezone: Europe/Rome, country: IT}
services:
  - {name: sales, dids: ["1000"]}
queues:
  - {name: sales-it, service: sales}
agents:
  - {name: alice, extension: "1001", queues: [sales-it]}
"""
TALKED, HUNG_UP, LIVE, HELD, AGENT_CALL, ENDED = "1700.1", "1700.2", "1700.3", "1700.4", "agentcall-1", "1700.6"


@dataclass
class Asterisk:
    """The stand-in's answers: no channel in the app, ``live`` channels in the dialplan."""

    live: set[str] = field(default_factory=set)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ari/applications/{name}", self.application)
        app.router.add_post("/ari/applications/{name}/subscription", self.application)
        app.router.add_get("/ari/channels", self.channels)
        app.router.add_get("/ari/bridges", self.nothing)
        app.router.add_get("/ari/endpoints/PJSIP", self.nothing)
        return app

    async def application(self, request: web.Request) -> web.Response:
        return web.json_response({"name": request.match_info["name"], "channel_ids": [], "bridge_ids": []})

    async def channels(self, request: web.Request) -> web.Response:
        return web.json_response([{"id": c, "name": f"PJSIP/trunk-{c}", "state": "Up"} for c in sorted(self.live)])

    async def nothing(self, request: web.Request) -> web.Response:
        return web.json_response([])


def _now() -> datetime:
    return datetime.now(UTC)


async def _seed(store: Store, tvox: Tvox, tmp_path: Path) -> int:
    """Tenant acme and the interactions a killed run left; the ACD's rows holding HELD."""
    source = tmp_path / "acme.yaml"
    source.write_text(TENANT)
    await asyncio.to_thread(tvox.ok, "import", str(source))
    route = await Directory(store).route("acme", "sales")
    before = _now() - timedelta(minutes=5)
    async with store.tenant(route.tenant_id) as session:
        for channel_id in (TALKED, HUNG_UP, LIVE, HELD, AGENT_CALL, ENDED):
            session.add(
                m.Interaction(
                    channel=Channel.VOICE,
                    direction=Direction.OUTBOUND if channel_id == AGENT_CALL else Direction.INBOUND,
                    service_id=route.service_id,
                    external_id=channel_id,
                    offered_at=before,
                    answered_at=before if channel_id == TALKED else None,
                    ended_at=before if channel_id == ENDED else None,
                    outcome=Outcome.ABANDONED if channel_id == ENDED else Outcome.QUEUED,
                )
            )
        await session.commit()
    async with ari_stand_in(Asterisk().app()) as ari:  # the killed run's ACD: HELD waits in sales-it
        acd = AcdQueue(ari, AcdDirectory(store), _now, callback_poll_s=3600, config_poll_s=3600)
        await acd.start()
        acd.service.submit_item(NewItem("acme/sales-it", Channel.VOICE, route.tenant_id, HELD))
        await acd.close()
    return route.tenant_id


async def _calls(store: Store) -> dict[str, tuple[str | None, bool]]:
    """Channel id -> (outcome, ended)."""
    async with store.session() as session:
        rows = (await session.execute(select(m.Interaction))).scalars().all()
        return {r.external_id or "": (r.outcome, r.ended_at is not None) for r in rows}


async def _ended_events(store: Store) -> dict[str, list[str]]:
    async with store.session() as session:
        rows = await session.execute(
            select(m.Interaction.external_id, m.InteractionEvent.data)
            .join(m.Interaction, m.Interaction.id == m.InteractionEvent.interaction_id)
            .where(m.InteractionEvent.kind == "ended")
        )
        found: dict[str, list[str]] = {}
        for channel_id, data in rows:
            found.setdefault(channel_id, []).append(data["outcome"])
        return found


async def test_a_restart_closes_the_calls_left_open_that_are_over(tvox_any: Tvox, db_url: str, tmp_path: Path) -> None:
    store = Store.from_url(db_url)
    try:
        await _seed(store, tvox_any, tmp_path)
        asterisk = Asterisk(live={LIVE})
        async with ari_stand_in(asterisk.app()) as ari:
            directory = Directory(store)
            acd = AcdQueue(ari, AcdDirectory(store, directory.recorder), _now, callback_poll_s=3600, config_poll_s=3600)
            voice = VoiceApp(ari, directory, handoff=acd, clock=_now)
            try:
                await acd.start()  # restores HELD from the ACD's rows
                assert set(acd.service.view().items) == {HELD}
                assert await voice.resync() == 0  # nothing in the app to take back
                await directory.recorder.flush()
                calls = await _calls(store)
                assert calls[TALKED] == (Outcome.ANSWERED, True)  # an agent took it: what the ACD's end says
                assert calls[HUNG_UP] == (Outcome.INTERRUPTED, True)  # ended while no service recorded it
                assert calls[LIVE] == (Outcome.QUEUED, False)  # still on Asterisk: not over
                assert calls[HELD] == (Outcome.QUEUED, False)  # the ACD holds it: its own restart ends it
                assert calls[AGENT_CALL] == (Outcome.QUEUED, False)  # not the voice app's call
                assert calls[ENDED] == (Outcome.ABANDONED, True)
                assert await _ended_events(store) == {TALKED: [Outcome.ANSWERED], HUNG_UP: [Outcome.INTERRUPTED]}

                await acd.on_connected()  # the ACD's reconcile: HELD's caller is gone, it left the queue
                await directory.recorder.flush()
                assert (await _calls(store))[HELD] == (Outcome.ABANDONED, True)

                asterisk.live.clear()  # a reconnect (the same resync) after LIVE's channel went too
                await voice.resync()
                await directory.recorder.flush()
                calls = await _calls(store)
                assert calls[LIVE] == (Outcome.INTERRUPTED, True) and calls[AGENT_CALL] == (Outcome.QUEUED, False)
                assert calls[TALKED] == (Outcome.ANSWERED, True)
                assert (await _ended_events(store))[TALKED] == [Outcome.ANSWERED]  # closed once
            finally:
                await acd.close()
                await directory.recorder.close_writer()
    finally:
        await store.dispose()
