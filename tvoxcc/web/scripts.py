"""Call scripts on the web: read by API, shown on the agent desktop, answered from it.

- ``GET /api/tenants/{tenant}/scripts`` and ``…/scripts/{name}``: the tenant's scripts (any user of the tenant).
- ``GET /api/agent/script``: the scripts of the items the ACD offers to or connected with the user's agent (a
  campaign's item: the campaign's script, else its queue's), with the interaction its answers are stored with.
- ``POST /api/agent/script`` ``{"interaction": id, "script": name, "answers": {field: value}}``: checked along
  the script (tvoxcc.scripts.checks) and stored with the interaction; 422 names every wrong field.
The desktop's module is ``/agent/static/script.js``.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from sqlalchemy import select

from tvoxcc.admin.errors import AdminError
from tvoxcc.campaigns.desk import campaign_of
from tvoxcc.scripts import store as ss
from tvoxcc.store import models as m
from tvoxcc.voice.acd_config import agent_id as router_agent_id
from tvoxcc.web import auth, data
from tvoxcc.web.access import Principal
from tvoxcc.web.context import api_user, ctx, json_error, visible_tenant


async def list_scripts(request: web.Request) -> web.Response:
    who = await api_user(request)
    config = await visible_tenant(request, who)
    views = await ss.list_scripts(ctx(request).store, config.name)
    return web.json_response([view.summary() for view in views])


async def show_script(request: web.Request) -> web.Response:
    who = await api_user(request)
    config = await visible_tenant(request, who)
    try:
        view = await ss.get_script(ctx(request).store, config.name, request.match_info["name"])
    except AdminError:
        raise json_error(404, "no such script") from None
    return web.json_response({**view.summary(), "spec": view.spec})


async def _agent(request: web.Request, who: Principal) -> tuple[int, str, int]:
    """The tenant id, router id and agent row of the user's agent."""
    if who.agent is None or who.tenant is None:
        raise json_error(403, "scripts are for a user linked to an agent")
    config = await data.tenant_config(ctx(request).store, who.tenant)
    if config is None:
        raise json_error(404, "no such tenant")
    async with ctx(request).store.tenant(config.tenant_id) as session:
        row = await session.scalar(select(m.Agent.id).where(m.Agent.name == who.agent))
    if row is None:
        raise json_error(403, "scripts are for a user linked to an agent")
    return config.tenant_id, router_agent_id(config.name, who.agent), row


async def current_scripts(request: web.Request) -> web.Response:
    who = await api_user(request)
    tenant_id, rid, _ = await _agent(request, who)
    shown: list[dict[str, Any]] = []
    async with ctx(request).store.tenant(tenant_id) as session:
        items = (await session.execute(select(m.AcdItem).where(m.AcdItem.tenant_id == tenant_id))).scalars().all()
        for item in items:
            if item.agent != rid and rid not in (item.offered_to or []):
                continue
            queue = item.queue.partition("/")[2]
            queue_id = await session.scalar(select(m.Queue.id).where(m.Queue.name == queue))
            script = await ss.script_for(session, campaign_id=campaign_of(item.item_id), queue_id=queue_id)
            if script is None:
                continue
            interaction = await session.scalar(
                select(m.Interaction.id).where(m.Interaction.external_id == item.item_id)
            )
            answers = None
            if interaction is not None:
                stored = await session.scalar(
                    select(m.ScriptAnswer.answers).where(
                        m.ScriptAnswer.interaction_id == interaction, m.ScriptAnswer.script_id == script.id
                    )
                )
                answers = stored
            shown.append(
                {"item": item.item_id, "status": item.status, "queue": queue, "interaction": interaction,
                 "script": script.name, "spec": script.spec, "answers": answers or {}}
            )  # fmt: skip
    return web.json_response(shown)


async def post_answers(request: web.Request) -> web.Response:
    who = await api_user(request)
    if not auth.same_origin(request):
        raise json_error(403, "cross-site request refused")
    tenant_id, _, agent_row = await _agent(request, who)
    try:
        body = await request.json()
    except json.JSONDecodeError:
        raise json_error(400, "the body must be JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("interaction"), int) or not body.get("script"):
        raise json_error(400, 'expected {"interaction": id, "script": name, "answers": {...}}')
    answers = body.get("answers") or {}
    if not isinstance(answers, dict):
        raise json_error(400, "answers: a mapping of field names to values")
    c = ctx(request)
    async with c.store.tenant(tenant_id) as session:
        interaction = await session.get(m.Interaction, body["interaction"])
        if interaction is None:
            raise json_error(404, "no such interaction")
        if interaction.agent_id not in (None, agent_row) and not who.sees_whole_tenant:
            raise json_error(403, "not one of your interactions")
        script = await session.scalar(select(m.CallScript).where(m.CallScript.name == str(body["script"])))
        if script is None:
            raise json_error(404, "no such script")
        try:
            path, kept = await ss.save_answers(session, script, interaction.id, answers, agent_row, c.clock())
        except ss.AnswersRefused as exc:
            problems = [{"field": field, "problem": why} for field, why in exc.problems]
            return web.json_response({"error": str(exc), "problems": problems}, status=422)
        await session.commit()
    return web.json_response({"interaction": interaction.id, "script": script.name, "path": path, "answers": kept})


def add_routes(r: web.UrlDispatcher) -> None:
    r.add_get("/api/tenants/{tenant}/scripts", list_scripts)
    r.add_get("/api/tenants/{tenant}/scripts/{name}", show_script)
    r.add_get("/api/agent/script", current_scripts)
    r.add_post("/api/agent/script", post_answers)
