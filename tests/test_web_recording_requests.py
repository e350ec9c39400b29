"""The desktop's "Pause recording" / "Resume recording" over HTTP on SQLite and PostgreSQL: POST
/api/agent/recording stores the request while the agent has a recorded call connected (409 with the reason
otherwise); the voice service's claim takes each request once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.web_clients import WEB_SETTINGS, Client, Login, logins
from tests.web_world import NOW, Clock, seed
from tvoxcc.queues.model import Channel
from tvoxcc.recordings import requests
from tvoxcc.recordings.pause import RecordingAction
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.web.app import build_app


@pytest.fixture
async def login(store: Store) -> AsyncIterator[Login]:
    await seed(store)
    async with logins(lambda: build_app(store, WEB_SETTINGS, clock=Clock())) as login:
        yield login


async def ask(client: Client, body: Any, **headers: str) -> tuple[int, Any]:
    response = await client.post("/api/agent/recording", json=body, headers=headers)
    return response.status, json.loads(await response.text())


async def connected_call(
    store: Store, agent: str, *, recording: str | None = "tvoxcc-call-1", ended: bool = False
) -> int:
    """A voice interaction answered by ``agent`` (of tenant acme), as the voice service stores it."""
    async with store.session() as session:
        tenant = await session.scalar(select(m.Tenant.id).where(m.Tenant.name == "acme"))
        agent_id = await session.scalar(select(m.Agent.id).where(m.Agent.name == agent))
        assert tenant is not None and agent_id is not None
        row = m.Interaction(
            tenant_id=tenant, channel=Channel.VOICE, agent_id=agent_id, external_id="chan-1", offered_at=NOW,
            answered_at=NOW, ended_at=NOW if ended else None, recording=recording,
        )  # fmt: skip
        session.add(row)
        await session.commit()
        return row.id


async def test_a_pause_is_stored_and_taken_once(store: Store, login: Login) -> None:
    al = await login("al")
    call = await connected_call(store, "alice")
    assert await (await al.get("/api/agent/recording")).json() == {
        "recorded": True, "interaction": call, "paused": False,
    }  # fmt: skip
    assert await ask(al, {"action": "pause"}) == (202, {"request": 1, "action": "pause"})
    assert (await (await al.get("/api/agent/recording")).json())["paused"] is True
    async with store.session() as session:
        row = await session.get(m.RecordingRequest, 1)
    assert row is not None and (row.action, row.interaction_id, row.taken_at) == ("pause", call, None)
    # Two voice services look at once: one of them takes it.
    first, second = await asyncio.gather(requests.claim(store, NOW), requests.claim(store, NOW))
    (claimed,) = first + second
    assert (claimed.row_id, claimed.agent_id, claimed.action, claimed.stale) == (1, row.agent_id, "pause", False)
    assert await requests.claim(store, NOW) == []  # never again
    assert await ask(al, {"action": "resume"}) == (202, {"request": 2, "action": "resume"})
    assert (await (await al.get("/api/agent/recording")).json())["paused"] is False
    (late,) = await requests.claim(store, NOW + timedelta(seconds=requests.REQUEST_TTL_S + 1))
    assert (late.action, late.stale) == (RecordingAction.RESUME, True)  # taken, not carried out


async def test_without_a_recorded_call_the_request_is_refused(store: Store, login: Login) -> None:
    al = await login("al")
    refused = (409, {"error": "you have no recorded call connected", "reason": "no-recorded-call"})
    assert await ask(al, {"action": "pause"}) == refused
    await connected_call(store, "alice", recording=None)  # connected, not recorded
    assert await ask(al, {"action": "pause"}) == refused
    await connected_call(store, "alice", ended=True)  # recorded, over
    assert await ask(al, {"action": "resume"}) == refused
    assert await (await al.get("/api/agent/recording")).json() == {
        "recorded": False, "interaction": None, "paused": False,
    }  # fmt: skip
    async with store.session() as session:
        assert (await session.execute(select(m.RecordingRequest))).scalars().all() == []
    assert await requests.claim(store, NOW) == []


async def test_bad_requests_and_other_users_are_refused(store: Store, login: Login) -> None:
    await connected_call(store, "alice")
    al = await login("al")
    assert (await ask(al, {"action": "start"}))[0] == 400
    assert (await ask(al, {}))[0] == 400
    assert (await ask(al, ["pause"]))[0] == 400
    assert (await ask(al, {"action": "pause"}, Origin="https://evil.example"))[0] == 403
    assert (await ask(await login("sara"), {"action": "pause"}))[0] == 403  # no agent of her own
    assert (await ask(await login(None), {"action": "pause"}))[0] == 401
    assert (await ask(await login("cy"), {"action": "pause"}))[0] == 409  # alice's call is not carol's
    assert await requests.claim(store, NOW) == []


async def test_the_desktop_loads_the_recording_module(store: Store, login: Login) -> None:
    al = await login("al")
    page = await (await al.get("/agent")).text()
    assert "/agent/static/recording.js" in page
    script = await al.get("/agent/static/recording.js")
    assert script.status == 200 and "/api/agent/recording" in await script.text()
