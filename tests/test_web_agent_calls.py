"""Click-to-call over HTTP on SQLite and PostgreSQL: POST /api/agent/calls checks the number and stores the
request the voice service takes; GET follows it (the agent's own calls only)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.web_clients import WEB_SETTINGS, Client, Login, logins
from tests.web_world import NOW, Clock, seed
from tvoxcc.agentcalls.store import AgentCallBook
from tvoxcc.campaigns.store import add_do_not_call
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.web.app import build_app

ROUTE = {"endpoint": "PJSIP/{number}@acme-pstn", "caller_id": "5559000", "ring_seconds": 20}


@pytest.fixture
async def login(store: Store) -> AsyncIterator[Login]:
    await seed(store)
    async with logins(lambda: build_app(store, WEB_SETTINGS, clock=Clock())) as login:
        yield login


async def call(client: Client, body: Any, **headers: str) -> tuple[int, Any]:
    response = await client.post("/api/agent/calls", json=body, headers=headers)
    return response.status, json.loads(await response.text())


async def with_route(store: Store) -> None:
    async with store.session() as session:
        await session.execute(update(m.Tenant).where(m.Tenant.name == "acme").values(outbound=ROUTE))
        await session.commit()


async def test_an_agent_asks_for_a_call_and_follows_it(store: Store, login: Login) -> None:
    al = await login("al")
    assert await call(al, {"number": "+39 02 1234 5678"}) == (
        409,
        {"error": "the tenant has no outbound route (tvoxcc import with an outbound: section)",
         "reason": "no-outbound-route", "call": 1},
    )  # fmt: skip
    await with_route(store)
    status, answer = await call(al, {"number": "+39 02 1234 5678"})
    assert (status, answer) == (202, {"call": 2, "number": "+390212345678", "phase": "requested"})
    followed = await al.get("/api/agent/calls/2")
    assert (await followed.json())["phase"] == "requested"
    (claimed,) = await AgentCallBook(store).claim_requests(NOW)  # the voice service takes it: alice's phone rings
    assert (claimed.row_id, claimed.agent, claimed.number) == (2, "acme-alice", "+390212345678")
    followed = await al.get("/api/agent/calls/2")
    assert await followed.json() == {
        "call": 2, "number": "+390212345678", "origin": "desktop", "phase": "ringing", "refused": None,
        "interaction": None,
    }  # fmt: skip


async def test_bad_numbers_and_other_users_are_refused(store: Store, login: Login) -> None:
    await with_route(store)
    await add_do_not_call(store, "acme", ["+390299999999"], "asked")
    al = await login("al")
    assert (await call(al, {"number": ""}))[1]["reason"] == "empty-number"
    assert (await call(al, {"number": "12ab"}))[0:2] == (
        422,
        {"error": "not a phone number (digits, optionally a leading +)", "reason": "invalid-number", "call": 2},
    )
    assert (await call(al, {"number": "+390299999999"}))[0] == 403
    assert (await call(al, {"number": "+390211"}, Origin="https://evil.example"))[0] == 403
    assert (await call(al, {"contact": "x"}))[0] == 400
    assert (await call(al, {"contact": 999}))[0] == 404
    assert (await call(await login("sara"), {"number": "+390211111"}))[0] == 403  # no phone of her own
    assert (await call(await login(None), {"number": "+390211111"}))[0] == 401
    cy = await login("cy")
    assert (await cy.get("/api/agent/calls/1")).status == 404  # alice's call is not carol's business
    async with store.session() as session:
        refused = (await session.execute(select(m.AgentCall.refused).order_by(m.AgentCall.id))).scalars().all()
    assert refused == ["empty-number", "invalid-number", "do-not-call"]
    assert await AgentCallBook(store).claim_requests(NOW) == []  # nothing refused is ever rung


async def test_a_contact_is_called_on_its_first_number(store: Store, login: Login) -> None:
    await with_route(store)
    async with store.session() as session:
        tenant = await session.scalar(select(m.Tenant.id).where(m.Tenant.name == "acme"))
        assert tenant is not None
        contact = m.Contact(tenant_id=tenant, display_name="Carla Bianchi")
        session.add(contact)
        await session.flush()
        session.add(m.ContactPhone(tenant_id=tenant, contact_id=contact.id, number="+390255555555"))
        await session.commit()
        contact_id = contact.id
    al = await login("al")
    status, answer = await call(al, {"contact": contact_id})
    assert (status, answer["number"]) == (202, "+390255555555")
    async with store.session() as session:
        row = await session.get(m.AgentCall, answer["call"])
    assert row is not None and row.contact_id == contact_id


async def test_the_desktop_loads_the_click_to_call_module(store: Store, login: Login) -> None:
    al = await login("al")
    page = await (await al.get("/agent")).text()
    assert 'id="desk-outbound"' in page and "/agent/static/dial.js" in page
    script = await al.get("/agent/static/dial.js")
    assert script.status == 200 and "/api/agent/calls" in await script.text()
    assert (await al.get("/agent/static/other.js")).status == 404
