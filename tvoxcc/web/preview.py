"""Preview campaigns on the agent desktop: the record and its script shown, then dialled or skipped.

- ``GET /api/agent/preview``: the record shown to the user's agent (``{"offer": null}`` when none is due): its
  campaign, number, the list's custom columns and the campaign's script (tvoxcc.campaigns.preview claims it).
- ``POST /api/agent/preview/dial`` ``{"record": id}``: dialled through the click-to-call path (the agent's phone
  rings first); the answer is the click-to-call's (``GET /api/agent/calls/{id}`` follows it).
- ``POST /api/agent/preview/skip`` ``{"record": id, "reason": text}``: the reason stored on the record, its retry
  rule applied.
The page's module is ``/agent/static/preview.js`` (served with the desktop's other modules).
"""

from __future__ import annotations

from aiohttp import web

from tvoxcc.campaigns import preview
from tvoxcc.store import models as m
from tvoxcc.web import auth
from tvoxcc.web.context import agent_of, api_user, ctx, json_error
from tvoxcc.web.desk_dial import STATUS, json_object

NOT_AN_AGENT = "preview campaigns are for a user linked to an agent"


async def _record_id(request: web.Request) -> tuple[int, dict[str, object]]:
    if not auth.same_origin(request):
        raise json_error(403, "cross-site request refused")
    body = await json_object(request)
    record = body.get("record")
    if not isinstance(record, int) or isinstance(record, bool):
        raise json_error(400, "record: the id of the record shown (a number)")
    return record, body


async def show(request: web.Request) -> web.Response:
    who = await api_user(request)
    home, agent_id = await agent_of(ctx(request), who, NOT_AN_AGENT)
    tenant_id = home.tenant_id
    c = ctx(request)
    async with c.store.tenant(tenant_id) as session:
        tenant, agent = await session.get(m.Tenant, tenant_id), await session.get(m.Agent, agent_id)
        assert tenant is not None and agent is not None
        shown = await preview.offer(session, tenant, agent, c.clock())
        await session.commit()
    return web.json_response({"offer": shown.to_json() if shown else None})


async def dial(request: web.Request) -> web.Response:
    who = await api_user(request)
    record, _ = await _record_id(request)
    home, agent_id = await agent_of(ctx(request), who, NOT_AN_AGENT)
    tenant_id = home.tenant_id
    c = ctx(request)
    async with c.store.tenant(tenant_id) as session:
        tenant, agent = await session.get(m.Tenant, tenant_id), await session.get(m.Agent, agent_id)
        assert tenant is not None and agent is not None
        try:
            call_id, reason = await preview.dial(session, tenant, agent, record, c.clock())
        except preview.PreviewRefused as exc:
            raise json_error(exc.status, str(exc)) from None
        await session.commit()
    if reason is not None:
        answer = {"error": reason.message, "reason": reason.value, "call": call_id}
        return web.json_response(answer, status=STATUS.get(reason, 422))
    return web.json_response({"call": call_id, "record": record, "phase": "requested"}, status=202)


async def skip(request: web.Request) -> web.Response:
    who = await api_user(request)
    record, body = await _record_id(request)
    home, agent_id = await agent_of(ctx(request), who, NOT_AN_AGENT)
    tenant_id = home.tenant_id
    c = ctx(request)
    async with c.store.tenant(tenant_id) as session:
        tenant, agent = await session.get(m.Tenant, tenant_id), await session.get(m.Agent, agent_id)
        assert tenant is not None and agent is not None
        try:
            state = await preview.skip(session, tenant, agent, record, str(body.get("reason") or ""), c.clock())
        except preview.PreviewRefused as exc:
            raise json_error(exc.status, str(exc)) from None
        await session.commit()
    return web.json_response({"record": record, "state": state})


def add_routes(r: web.UrlDispatcher) -> None:
    r.add_get("/api/agent/preview", show)
    r.add_post("/api/agent/preview/dial", dial)
    r.add_post("/api/agent/preview/skip", skip)
