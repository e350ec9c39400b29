"""Click-to-call from the agent desktop: ``POST /api/agent/calls`` with a number or a contact id.

The web app has no line to Asterisk: it checks the number (tvoxcc.agentcalls: empty, not a number, on the
do-not-call list, no outbound route) and stores an ``agent_calls`` row ``requested``; the voice service takes it,
rings the agent's own phone and, once answered, dials the customer through the tenant's outbound route and
bridges them (tvoxcc.voice.agent_calls). ``GET /api/agent/calls/{id}`` follows it (the agent's own calls only).
The page's script is ``/agent/static/dial.js``.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from sqlalchemy import select

from tvoxcc.agentcalls import store as calls
from tvoxcc.agentcalls.model import Refusal, clean_number
from tvoxcc.store import models as m
from tvoxcc.web import auth
from tvoxcc.web.context import agent_of, api_user, ctx, json_error

NOT_AN_AGENT = "click-to-call is for a user linked to an agent"

STATUS: dict[Refusal, int] = {Refusal.NO_ROUTE: 409, Refusal.BUSY_AGENT: 409, Refusal.DO_NOT_CALL: 403}


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except json.JSONDecodeError:
        raise json_error(400, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise json_error(400, "the body must be a JSON object")
    return body


async def place_call(request: web.Request) -> web.Response:
    who = await api_user(request)
    if not auth.same_origin(request):
        raise json_error(403, "cross-site request refused")
    body = await json_object(request)
    home, agent_id = await agent_of(ctx(request), who, NOT_AN_AGENT)
    tenant_id = home.tenant_id
    number = clean_number(str(body.get("number") or ""))[:40]
    contact = body.get("contact")
    if contact is not None and not isinstance(contact, int):
        raise json_error(400, "contact: a contact id (a number)")
    c = ctx(request)
    async with c.store.tenant(tenant_id) as session:
        if contact is not None:
            if await session.get(m.Contact, contact) is None:
                raise json_error(404, "no such contact")
            if not number:
                phones = await session.execute(
                    select(m.ContactPhone.number)
                    .where(m.ContactPhone.contact_id == contact)
                    .order_by(m.ContactPhone.id)
                )
                number = phones.scalars().first() or ""
        tenant = await session.get(m.Tenant, tenant_id)
        agent = await session.get(m.Agent, agent_id)
        assert tenant is not None and agent is not None
        row_id, reason = await calls.request(session, tenant, agent, number, c.clock(), contact_id=contact)
        await session.commit()
    if reason is not None:
        answer = {"error": reason.message, "reason": reason.value, "call": row_id}
        return web.json_response(answer, status=STATUS.get(reason, 422))
    return web.json_response({"call": row_id, "number": number, "phase": "requested"}, status=202)


async def call_status(request: web.Request) -> web.Response:
    who = await api_user(request)
    home, agent_id = await agent_of(ctx(request), who, NOT_AN_AGENT)
    tenant_id = home.tenant_id
    try:
        row_id = int(request.match_info["call"])
    except ValueError:
        raise json_error(404, "no such call") from None
    async with ctx(request).store.tenant(tenant_id) as session:
        row = await session.get(m.AgentCall, row_id)
    if row is None or row.agent_id != agent_id:
        raise json_error(404, "no such call")
    return web.json_response(
        {
            "call": row.id,
            "number": row.number,
            "origin": row.origin,
            "phase": row.phase,
            "refused": row.refused,
            "interaction": row.interaction_id,
        }
    )


def add_routes(r: web.UrlDispatcher) -> None:
    r.add_post("/api/agent/calls", place_call)
    r.add_get("/api/agent/calls/{call}", call_status)
