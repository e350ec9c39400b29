"""The desktop's "Pause recording" / "Resume recording" on the lab Asterisk: the mirror of the phone's *78 / *79
test (tests/e2e/test_voice_acd.py), with the requests made over HTTP to the web app — the voice service takes
them from the store and pauses the live recording; the stored file still lasts the talk and its row marks the
paused stretch."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import select

from tests.e2e.test_voice_acd import (  # the acme tenant's fixtures and helpers, as its *78 / *79 test uses them
    Clock,
    acme,  # noqa: F401
    call_bridge,
    caller,
    phones,  # noqa: F401
    register,
    repository_row,
    talk_seconds,
)
from tests.e2e.voice import interactions, running_voice, wait_until_ended
from tvoxcc.admin.passwords import hash_password
from tvoxcc.config import WebSettings
from tvoxcc.lab.sipp import Sipp, SippAgent
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.web.app import build_app

pytestmark = pytest.mark.asterisk

WEB_USER, WEB_PASSWORD = "alice-recdesk", "pause me for the card number"


async def desk_user(settings: Any) -> None:
    """A web user working as alice."""
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        tenant, agent = (
            await session.execute(
                select(m.Tenant.id, m.Agent.id).join(m.Agent, m.Agent.tenant_id == m.Tenant.id)
                .where(m.Tenant.name == "acme", m.Agent.name == "alice")
            )
        ).one()  # fmt: skip
        if await session.scalar(select(m.User.id).where(m.User.username == WEB_USER)) is None:
            session.add(
                m.User(
                    username=WEB_USER, role="agent", password_hash=hash_password(WEB_PASSWORD),
                    tenant_id=tenant, agent_id=agent,
                )
            )  # fmt: skip
            await session.commit()
    await store.dispose()


async def recorded_call_shown(client: TestClient[Any, Any], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not (await (await client.get("/api/agent/recording")).json())["recorded"]:
        assert time.monotonic() < deadline, "the desktop never saw alice's recorded call"
        await asyncio.sleep(0.1)


async def test_the_agent_pauses_the_recording_from_the_desktop(
    acme: Any,  # noqa: F811
    sipp: Sipp,
    phones: dict[str, SippAgent],  # noqa: F811
) -> None:
    settings = acme.settings
    await desk_user(settings)
    before = len(await interactions(settings))
    store = Store.from_url(settings.database.url.get_secret_value())
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(store, WebSettings(secret=SecretStr("s" * 32)))))
    await client.start_server()
    try:
        assert (await client.post("/login", json={"username": WEB_USER, "password": WEB_PASSWORD})).status == 200
        refused = await client.post("/api/agent/recording", json={"action": "pause"})
        assert refused.status == 409  # no call yet
        async with running_voice(settings, Clock(datetime.now(UTC))):
            await register(acme, phones, "alice")
            phones["alice"].answer(ring_ms=300)
            calling = caller(sipp, 9000)
            await call_bridge(acme)
            await recorded_call_shown(client)
            await asyncio.sleep(0.5)
            paused = await client.post("/api/agent/recording", json={"action": "pause"})
            assert paused.status == 202, await paused.text()
            await asyncio.sleep(3.0)
            resumed = await client.post("/api/agent/recording", json={"action": "resume"})
            assert resumed.status == 202, await resumed.text()
            (await asyncio.to_thread(calling.wait, 40)).check()
            rows = await wait_until_ended(settings, 1)
            row = rows[before]
            assert row["outcome"] == "answered"
            stored = await repository_row(acme, row["id"])
            talked = await talk_seconds(settings, row["id"])
        async with store.session() as session:
            taken = (await session.execute(select(m.RecordingRequest.taken_at))).scalars().all()
    finally:
        await client.close()
        await store.dispose()
    assert len(taken) == 2 and None not in taken  # each request taken (once: by the one voice service)
    assert len(stored["gaps"]) == 1, stored
    start, end = stored["gaps"][0]
    assert 0.3 < start < 5.0 and 2.0 < end - start < 4.5, stored["gaps"]
    assert abs(stored["duration_s"] - talked) <= 1.0, (stored, talked)
