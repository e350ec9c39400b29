"""Server push to the wallboard: Server-Sent Events of the tenant's live snapshot and figures."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from tvoxcc.web import auth, data
from tvoxcc.web.context import api_user, ctx, own_agent, visible_queue, visible_tenant
from tvoxcc.web.views import live_view

HEARTBEAT_S = 10.0  # an idle event stream gets fresh figures (and its session re-checked) this often


async def stream(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: ``live`` on every change of the tenant's snapshot, ``summary`` now and then."""
    who = await api_user(request)
    config = await visible_tenant(request, who)
    queue = request.query.get("queue") or None
    if queue is not None:
        visible_queue(config, who, queue)
    agent = own_agent(who) if not who.sees_whole_tenant else None
    c = ctx(request)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await response.prepare(request)

    async def send(event: str, payload: Any) -> None:
        await response.write(f"event: {event}\ndata: {json.dumps(payload)}\n\n".encode())

    tenant_id = config.tenant_id
    state = c.hub.state(tenant_id)
    loop = asyncio.get_running_loop()
    checked = loop.time()
    try:
        while not c.hub.closing:
            await send("live", live_view(config, state, c.hub.voice_now(tenant_id), who, queue))
            await send("summary", await c.figures.get(config, c.clock(), agent, who.scope))
            state = await c.hub.wait_change(tenant_id, state.version, HEARTBEAT_S)
            if c.hub.closing:
                break  # the server stops: end the response cleanly (the browser's EventSource reconnects)
            if loop.time() - checked >= HEARTBEAT_S:  # still logged in? (and the configuration may have changed)
                checked = loop.time()
                if await auth.principal_of(c.store, request.cookies.get(auth.SESSION_COOKIE), c.clock()) is None:
                    break
                config = await data.tenant_config(c.store, config.name) or config
    except ConnectionResetError:
        pass  # the browser went away
    return response


def add_routes(r: web.UrlDispatcher) -> None:
    r.add_get("/api/tenants/{tenant}/stream", stream)
