"""The web API on SQLite and PostgreSQL: every route for every role, tenant isolation, login, CSRF, metrics."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import select

from tests.web_clients import Client, Login, logins
from tests.web_world import PASSWORD, Clock, live_world, seed
from tvoxcc.config import WebSettings
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.web.app import build_app


@pytest.fixture
async def world(store: Store) -> AsyncIterator[Store]:
    await seed(store)
    _, writer = await live_world(store, Clock())
    await writer.close()
    yield store


@pytest.fixture
async def login(world: Store) -> AsyncIterator[Login]:
    settings = WebSettings(secret=SecretStr("s" * 32), metrics_token=SecretStr("tok-123"), poll_interval=0.05)
    async with logins(lambda: build_app(world, settings, clock=Clock()), poll_first=True) as login:
        yield login


async def get(client: Client, path: str) -> tuple[int, Any]:
    response = await client.get(path, allow_redirects=False)
    body = await response.text()
    return response.status, json.loads(body) if response.content_type == "application/json" else body


TENANT_ROUTES = ("queues", "agents", "summary", "queues/sales-it/live", "stream")
# user -> tenant -> status on every tenant route (acme routes name acme's queue sales-it; beta's: help)
VISIBLE = {
    None: {"acme": 401, "beta": 401, "nope": 401},
    "root": {"acme": 200, "beta": 200, "nope": 404},
    "sara": {"acme": 200, "beta": 404, "nope": 404},
    "al": {"acme": 200, "beta": 404, "nope": 404},
    "bea": {"acme": 404, "beta": 200, "nope": 404},
    "cy": {"acme": 404, "beta": 200, "nope": 404},
}


@pytest.mark.parametrize("username", list(VISIBLE))
async def test_every_tenant_route_answers_by_role_and_tenant(login: Login, username: str | None) -> None:
    client = await login(username)
    for tenant, expected in VISIBLE[username].items():
        for route in TENANT_ROUTES:
            route = route.replace("sales-it", "help") if tenant == "beta" else route
            path = f"/api/tenants/{tenant}/{route}"
            if route == "stream":
                response = await client.get(path)
                status = response.status
                if status == 200:
                    assert response.content_type == "text/event-stream"
                    first = await response.content.readuntil(b"\n\n")
                    assert first.startswith(b"event: live\ndata: ")
                    assert json.loads(first.split(b"data: ", 1)[1])["tenant"] == tenant
                response.close()
            else:
                status, body = await get(client, path)
                if status != 200:
                    assert set(body) == {"error"}  # never data of a tenant one may not see
            assert status == expected, (username, path, status)


async def test_supervisor_sees_live_queues_and_agents_of_their_tenant(login: Login) -> None:
    client = await login("sara")
    status, queues = await get(client, "/api/tenants/acme/queues")
    assert status == 200
    sales = next(q for q in queues if q["name"] == "sales-it")
    assert sales["waiting"] == 1 and sales["longest_wait_s"] == 30.0
    assert sales["agents"] == {"busy": 1, "paused": 1}
    assert next(q for q in queues if q["name"] == "support")["waiting"] == 0
    status, agents = await get(client, "/api/tenants/acme/agents")
    by_name = {a["name"]: a for a in agents}
    assert set(by_name) == {"alice", "bob"}
    bob = by_name["bob"]
    assert (bob["state"], bob["reason"], bob["in_state_s"]) == ("paused", "lunch", 60.0)
    assert (by_name["alice"]["state"], by_name["alice"]["in_state_s"]) == ("busy", 40.0)
    status, live = await get(client, "/api/tenants/acme/queues/support/live")
    assert status == 200 and [a["name"] for a in live["agents"]] == ["bob"]
    status, summary = await get(client, "/api/tenants/acme/summary")
    assert status == 200 and summary["date"] == "2026-03-10"
    total = summary["total"]
    assert (total["offered"], total["answered"], total["abandoned"], total["asa_s"]) == (2, 1, 1, 12.0)
    assert summary["queues"]["sales-it"]["offered"] == 2


async def test_an_agent_sees_only_their_own_state_queues_and_figures(login: Login) -> None:
    client = await login("al")
    status, queues = await get(client, "/api/tenants/acme/queues")
    assert status == 200 and queues == [{"name": "sales-it", "waiting": 1, "longest_wait_s": 30.0}]
    status, agents = await get(client, "/api/tenants/acme/agents")
    assert [a["name"] for a in agents] == ["alice"]
    status, live = await get(client, "/api/tenants/acme/queues/sales-it/live")
    assert [a["name"] for a in live["agents"]] == ["alice"]
    assert (await get(client, "/api/tenants/acme/queues/support/live"))[0] == 403  # not one of alice's queues
    assert (await get(client, "/api/tenants/acme/queues/nope/live"))[0] == 404
    status, summary = await get(client, "/api/tenants/acme/summary")
    assert status == 200 and summary["agent"] == "alice" and "queues" not in summary
    assert (summary["total"]["answered"], summary["total"]["offered"]) == (1, 1)
    assert (await get(client, "/api/tenants/acme/stream?queue=support"))[0] == 403
    status, me = await get(client, "/api/me")
    assert me == {"username": "al", "role": "agent", "tenant": "acme", "agent": "alice", "queues": ["sales-it"]}


async def test_support_user_without_agent_sees_nothing_of_others(login: Login) -> None:
    client = await login("sue")
    assert (await get(client, "/api/tenants/acme/queues"))[1] == []
    assert (await get(client, "/api/tenants/acme/agents"))[1] == []
    assert (await get(client, "/api/tenants/acme/summary"))[0] == 403
    assert (await get(client, "/api/tenants/acme/queues/sales-it/live"))[0] == 403
    assert (await get(client, "/api/tenants/beta/queues"))[0] == 404


async def test_tenant_lists_and_me(login: Login) -> None:
    assert (await get(await login(None), "/api/me"))[0] == 401
    assert (await get(await login(None), "/api/tenants"))[0] == 401
    assert (await get(await login("root"), "/api/tenants"))[1] == [{"name": "acme"}, {"name": "beta"}]
    assert (await get(await login("bea"), "/api/tenants"))[1] == [{"name": "beta"}]
    assert (await get(await login("root"), "/api/me"))[1]["tenant"] is None


async def test_stream_pushes_a_change_of_the_snapshot(world: Store, login: Login) -> None:
    client = await login("sara")
    response = await client.get("/api/tenants/acme/stream?queue=sales-it")
    first = json.loads((await response.content.readuntil(b"\n\n")).split(b"data: ", 1)[1])
    assert first["queues"][0]["waiting"] == 1 and first["queue"] == "sales-it"
    await response.content.readuntil(b"\n\n")  # the summary
    clock = Clock()
    router, writer = await live_world(world, clock)  # a fresh writer writes the same view once more...
    writer.changed(router.abandon("c2", clock().timestamp()))  # ...then the waiting caller hangs up
    await writer.close()
    async with asyncio.timeout(5):
        while True:
            chunk = await response.content.readuntil(b"\n\n")
            if chunk.startswith(b"event: live"):
                pushed = json.loads(chunk.split(b"data: ", 1)[1])
                if pushed["queues"][0]["waiting"] == 0:
                    break
    assert pushed["version"] > first["version"]
    response.close()


async def test_login_logout_cookies_and_csrf(login: Login) -> None:
    client = await login(None)
    bad = await client.post("/login", json={"username": "sara", "password": "wrong password"})
    assert bad.status == 401 and await bad.json() == {"error": "invalid username or password"}
    assert (await client.post("/login", json={"username": "nobody", "password": PASSWORD})).status == 401
    foreign = await client.post(
        "/login", json={"username": "sara", "password": PASSWORD}, headers={"Origin": "http://evil.example"}
    )
    assert foreign.status == 403
    # The form: without its token refused; with it, a redirect to `next` (never off-site)
    assert (await client.post("/login", data={"username": "sara", "password": PASSWORD})).status == 403
    page = await client.get("/login?next=//evil.example/x")
    token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert token is not None
    ok = await client.post(
        "/login",
        data={"username": "sara", "password": PASSWORD, "csrf": token.group(1), "next": "//evil.example/x"},
        allow_redirects=False,
    )
    assert ok.status == 303 and ok.headers["Location"] == "/"
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert (await get(client, "/api/me"))[1]["username"] == "sara"
    assert (await client.post("/logout", data={})).status == 403  # a form without its token
    out = await client.post("/logout", json={})
    assert out.status == 204
    assert (await get(client, "/api/me"))[0] == 401


async def test_wallboard_pages_need_login_and_respect_tenants(login: Login) -> None:
    anon = await login(None)
    status, _ = await get(anon, "/wallboard/acme/sales-it")
    response = await anon.get("/wallboard/acme/sales-it", allow_redirects=False)
    assert status == 302 and response.headers["Location"] == "/login?next=/wallboard/acme/sales-it"
    sara = await login("sara")
    status, html = await get(sara, "/wallboard/acme")
    assert status == 200 and 'data-tenant="acme"' in html
    assert (await get(sara, "/wallboard/beta"))[0] == 404
    assert (await get(await login("al"), "/wallboard/acme/support"))[0] == 403
    assert (await get(sara, "/"))[0] == 302


async def test_metrics_need_a_token_or_an_admin(login: Login) -> None:
    anon = await login(None)
    assert (await anon.get("/metrics")).status == 401
    assert (await get(await login("sara"), "/metrics"))[0] == 401
    response = await anon.get("/metrics", headers={"Authorization": "Bearer tok-123"})
    assert response.status == 200
    body = await response.text()
    assert 'tvoxcc_queue_waiting{queue="sales-it",tenant="acme"} 1' in body
    assert 'tvoxcc_agents{state="paused",tenant="acme"} 1' in body
    assert 'tvoxcc_agents{state="available",tenant="beta"} 1' in body
    assert 'tvoxcc_queue_offered_today{queue="sales-it",tenant="acme"} 2' in body
    assert 'tvoxcc_queue_abandoned_today{queue="sales-it",tenant="acme"} 1' in body
    assert (await get(await login("root"), "/metrics"))[0] == 200
    assert (await get(anon, "/healthz")) == (200, {"status": "ok"})


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Serve = Callable[[str | None, str | None], Awaitable[Client]]


def seen_from(remote: str) -> Any:
    """A first middleware giving every request this client address, as a proxy-aware middleware would (the test
    servers listen on 127.0.0.1 only, so a real non-loopback peer is not available): the real handler reads
    ``request.remote`` as usual."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await handler(request.clone(remote=remote))

    return middleware


@pytest.fixture
async def serve(world: Store) -> AsyncIterator[Serve]:
    """A client of the web app with this metrics token (None: none configured), seen from this address."""
    clients: list[Client] = []

    async def make(token: str | None, remote: str | None) -> Client:
        settings = WebSettings(
            secret=SecretStr("s" * 32), metrics_token=SecretStr(token) if token else None, poll_interval=0.05
        )
        app = build_app(world, settings, clock=Clock())
        if remote is not None:
            app.middlewares.insert(0, seen_from(remote))
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def test_metrics_without_a_token_answer_loopback_clients_only(serve: Serve) -> None:
    local = await serve(None, None)  # the test server's real peer: 127.0.0.1
    response = await local.get("/metrics")
    assert response.status == 200 and "tvoxcc_agents{" in await response.text()
    assert (await (await serve(None, "::1")).get("/metrics")).status == 200
    for remote in ("203.0.113.7", "2001:db8::7", "10.0.0.2", "not-an-address"):
        outside = await serve(None, remote)
        response = await outside.get("/metrics")
        assert response.status == 401, remote
        assert "tvoxcc_" not in await response.text()
        # A bearer token proves nothing when none is configured.
        assert (await outside.get("/metrics", headers={"Authorization": "Bearer "})).status == 401
    admin = await serve(None, "203.0.113.7")
    assert (await admin.post("/login", json={"username": "root", "password": PASSWORD})).status == 200
    assert (await admin.get("/metrics")).status == 200  # an admin's session works from anywhere


async def test_metrics_with_a_token_need_exactly_that_bearer(serve: Serve) -> None:
    for remote in (None, "203.0.113.7"):  # with a token, loopback is no pass
        client = await serve("tok-123", remote)
        for wrong in ("Bearer tok-124", "Bearer tok-12", "Bearer tok-1234", "bearer tok-123", "tok-123", "Basic dG9r"):
            response = await client.get("/metrics", headers={"Authorization": wrong})
            assert response.status == 401, (remote, wrong)
            assert "tvoxcc_" not in await response.text()
        assert (await client.get("/metrics")).status == 401
        response = await client.get("/metrics", headers={"Authorization": "Bearer tok-123"})
        assert response.status == 200 and "tvoxcc_agents{" in await response.text()


async def _contacts(store: Store) -> tuple[int, int]:
    """A known caller in acme (her answered call linked) and one in beta; their ids."""
    async with store.session() as s:
        tenants = {t.name: t.id for t in (await s.execute(select(m.Tenant))).scalars()}
        carla = m.Contact(tenant_id=tenants["acme"], display_name="Carla Bianchi", vip=True)
        carla.phones.append(m.ContactPhone(tenant_id=tenants["acme"], number="+390212345678"))
        other = m.Contact(tenant_id=tenants["beta"], display_name="Beta Customer")
        s.add_all([carla, other])
        await s.flush()
        answered = (await s.execute(select(m.Interaction).where(m.Interaction.outcome == "answered"))).scalar_one()
        answered.contact_id, answered.from_address = carla.id, "+390212345678"
        await s.commit()
        return carla.id, other.id


async def test_journey_and_screen_pop_by_role_and_tenant(world: Store, login: Login) -> None:
    carla, other = await _contacts(world)
    journey = f"/api/tenants/acme/contacts/{carla}/journey"
    assert (await get(await login(None), journey))[0] == 401
    for username in ("root", "sara", "al"):  # the agent too: the screen pop is for whoever takes the call
        client = await login(username)
        status, body = await get(client, journey)
        assert status == 200, (username, body)
        assert body["contact"]["display_name"] == "Carla Bianchi"
        assert [(e["channel"], e["outcome"]) for e in body["entries"]] == [("voice", "answered")]
        status, pop = await get(client, f"/api/tenants/acme/contacts/{carla}/pop")
        assert status == 200 and pop["vip"] is True and pop["last_agent"] == "alice" and pop["contacts"] == 1
    # the same caller asked by phone number in another format
    status, body = await get(await login("sara"), "/api/tenants/acme/contacts/02%2012345678/journey")
    assert status == 200 and body["contact"]["display_name"] == "Carla Bianchi"
    # another tenant's supervisor and agent: as if acme did not exist
    for username in ("bea", "cy"):
        status, body = await get(await login(username), journey)
        assert (status, set(body)) == (404, {"error"})
    # beta's contact asked through acme: not found, never beta's data
    status, body = await get(await login("sara"), f"/api/tenants/acme/contacts/{other}/journey")
    assert status == 404 and "Beta" not in json.dumps(body)
    sara = await login("sara")
    assert (await get(sara, f"/api/tenants/acme/contacts/{carla}/journey?channel=mail"))[1]["entries"] == []
    assert (await get(sara, f"/api/tenants/acme/contacts/{carla}/journey?from=2026-03-11"))[1]["entries"] == []
    kept = (await get(sara, f"/api/tenants/acme/contacts/{carla}/journey?from=2026-03-10&to=2026-03-10"))[1]
    assert len(kept["entries"]) == 1
    for bad in ("?channel=fax", "?from=yesterday", "?from=2026-03-11&to=2026-03-10"):
        status, body = await get(sara, journey + bad)
        assert status == 400 and set(body) == {"error"}, (bad, body)
    assert (await get(sara, "/api/tenants/acme/contacts/nobody@example.test/journey"))[0] == 404
