"""POST …/agents/{agent}/listen on SQLite and PostgreSQL: who may ask, and the row every request leaves."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.web_clients import WEB_SETTINGS, Client, Login, logins
from tests.web_world import Clock, seed
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.web.app import build_app


@pytest.fixture
async def login(store: Store) -> AsyncIterator[Login]:
    await seed(store)
    async with logins(lambda: build_app(store, WEB_SETTINGS, clock=Clock())) as login:
        yield login


async def listen(client: Client, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
    response = await client.post(f"/api/tenants/{path}/listen", json=body, headers=headers)
    return response.status, json.loads(await response.text())


async def rows(store: Store) -> list[m.ListenSession]:
    async with store.session() as session:
        return list((await session.execute(select(m.ListenSession).order_by(m.ListenSession.id))).scalars())


async def link(store: Store, username: str, agent: str) -> None:
    async with store.session() as session:
        agent_id = await session.scalar(select(m.Agent.id).where(m.Agent.name == agent))
        await session.execute(update(m.User).where(m.User.username == username).values(agent_id=agent_id))
        await session.commit()


async def test_a_supervisor_of_the_tenant_with_a_phone_gets_a_request_for_the_voice_service(
    store: Store, login: Login
) -> None:
    await link(store, "sara", "bob")
    status, body = await listen(await login("sara"), "acme/agents/alice", {"mode": "whisper"})
    assert status == 202 and body["phone"] == "acme-bob" and body["mode"] == "whisper"
    (row,) = await rows(store)
    assert (row.id, row.phase, row.origin, row.mode) == (body["session"], "requested", "web", "whisper")
    assert (row.supervisor, row.supervisor_phone, row.tenant, row.agent, row.agent_extension) == (
        "sara", "acme-bob", "acme", "alice", "103"
    )  # fmt: skip
    assert row.refused is None and row.started_at is None


@pytest.mark.parametrize(
    ("username", "path", "status", "reason"),
    [
        ("bea", "acme/agents/alice", 404, "other-tenant"),  # a supervisor of another tenant
        ("al", "acme/agents/bob", 403, "not-supervisor"),  # an agent
        ("sue", "acme/agents/bob", 403, "not-supervisor"),  # support
        ("sara", "acme/agents/nobody", 404, "unknown-agent"),
        ("sara", "acme/agents/alice", 409, "no-phone"),  # no agent (phone) linked to sara
    ],
)
async def test_refusals_answer_why_and_leave_a_row(
    store: Store, login: Login, username: str, path: str, status: int, reason: str
) -> None:
    got, body = await listen(await login(username), path)
    assert (got, body["reason"]) == (status, reason) and body["error"]
    (row,) = await rows(store)
    assert (row.phase, row.refused, row.supervisor, row.origin) == ("refused", reason, username, "web")
    assert row.ended_at is not None and row.started_at is None and row.duration_s is None


async def test_bad_requests_store_nothing(store: Store, login: Login) -> None:
    await link(store, "sara", "bob")
    assert (await listen(await login(None), "acme/agents/alice"))[0] == 401
    client = await login("sara")
    assert (await listen(client, "acme/agents/alice", {"mode": "shout"}))[0] == 400
    assert (await listen(client, "acme/agents/alice", Origin="https://evil.example"))[0] == 403
    assert await rows(store) == []
