"""The JSON API of the wallboard and the journey: who am I, tenants, queues, agents, figures, a contact's journey."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tvoxcc.journey import book_store
from tvoxcc.journey.contacts import ContactNotFound, JourneyError
from tvoxcc.journey.scope import sees_contact
from tvoxcc.web import data
from tvoxcc.web.contacts import group_scope
from tvoxcc.web.context import api_user, ctx, json_error, own_agent, visible_queue, visible_tenant
from tvoxcc.web.journey import journey_json, screen_pop_json
from tvoxcc.web.views import TenantConfig, agent_views, live_view, queue_views


async def me(request: web.Request) -> web.Response:
    return web.json_response((await api_user(request)).as_json())


async def tenants(request: web.Request) -> web.Response:
    who = await api_user(request)
    names = await data.tenant_names(ctx(request).store)
    return web.json_response([{"name": n} for n, tid in names.items() if who.sees_tenant(tid)])


async def queues(request: web.Request) -> web.Response:
    who = await api_user(request)
    config = await visible_tenant(request, who)
    c = ctx(request)
    state = c.hub.state(config.tenant_id)
    return web.json_response(queue_views(config, state, c.hub.voice_now(config.tenant_id), who))


async def queue_live(request: web.Request) -> web.Response:
    who = await api_user(request)
    config = await visible_tenant(request, who)
    queue = request.match_info["queue"]
    visible_queue(config, who, queue)
    c = ctx(request)
    state = c.hub.state(config.tenant_id)
    return web.json_response(live_view(config, state, c.hub.voice_now(config.tenant_id), who, queue))


async def agents(request: web.Request) -> web.Response:
    who = await api_user(request)
    config = await visible_tenant(request, who)
    c = ctx(request)
    state = c.hub.state(config.tenant_id)
    return web.json_response(agent_views(config, state, c.hub.voice_now(config.tenant_id), who))


async def summary(request: web.Request) -> web.Response:
    who = await api_user(request)
    config = await visible_tenant(request, who)
    c = ctx(request)
    return web.json_response(await c.figures.get(config, c.clock(), own_agent(who), who.scope))


async def _contact_answer(
    request: web.Request, answer: Callable[[TenantConfig, str], Awaitable[dict[str, Any]]]
) -> web.Response:
    """A contact's data for any user of the tenant; 404 for nobody matching (for a supervisor scoped to groups:
    for a contact their groups never dealt with, or an address no contact has), 400 for a bad reference/filter."""
    who = await api_user(request)
    config = await visible_tenant(request, who)
    ref = request.match_info["contact"]
    try:
        if (scope := group_scope(who)) is not None:
            async with ctx(request).store.tenant(config.tenant_id) as session:
                found = await book_store.find_contact(session, ref)
                if not await sees_contact(session, scope, found.id):
                    raise ContactNotFound(f"no contact {ref.strip()[:60]!r}")
        return web.json_response(await answer(config, ref))
    except ContactNotFound as exc:
        raise json_error(404, str(exc)) from None
    except JourneyError as exc:
        raise json_error(400, str(exc)) from None


async def journey(request: web.Request) -> web.Response:
    """A contact's timeline (id, phone in any format or e-mail), filtered by ?channel=&from=&to=."""
    store, query = ctx(request).store, request.query
    return await _contact_answer(
        request,
        lambda config, contact: journey_json(
            store, config, contact, query.getall("channel", []), query.get("from"), query.get("to")
        ),
    )


async def screen_pop(request: web.Request) -> web.Response:
    """The journey summary an agent sees when the contact's call or ticket is offered."""
    store = ctx(request).store
    return await _contact_answer(request, lambda config, contact: screen_pop_json(store, config, contact))


def add_routes(r: web.UrlDispatcher) -> None:
    r.add_get("/api/me", me)
    r.add_get("/api/tenants", tenants)
    r.add_get("/api/tenants/{tenant}/queues", queues)
    r.add_get("/api/tenants/{tenant}/queues/{queue}/live", queue_live)
    r.add_get("/api/tenants/{tenant}/agents", agents)
    r.add_get("/api/tenants/{tenant}/summary", summary)
    r.add_get("/api/tenants/{tenant}/contacts/{contact}/journey", journey)
    r.add_get("/api/tenants/{tenant}/contacts/{contact}/pop", screen_pop)
