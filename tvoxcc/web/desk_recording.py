"""The desktop's "Pause recording" / "Resume recording": ``POST /api/agent/recording`` {"action": "pause" |
"resume"} while the agent has a recorded call connected (payment data, as their phone's ``*78`` / ``*79``).

The web app has no line to Asterisk: it stores the request (tvoxcc.recordings.requests) and the voice service
carries it out (tvoxcc.voice.recording_requests). 409 with the reason when the agent has no recorded call
connected. ``GET /api/agent/recording`` says whether they have one now (the page shows the button then). The
page's script is ``/agent/static/recording.js``.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from tvoxcc.recordings import requests
from tvoxcc.recordings.pause import RecordingAction
from tvoxcc.store import models as m
from tvoxcc.web import auth
from tvoxcc.web.context import agent_of, api_user, ctx, json_error
from tvoxcc.web.desk_dial import json_object

NOT_AN_AGENT = "pausing a call's recording is for a user linked to an agent"


async def ask(request: web.Request) -> web.Response:
    who = await api_user(request)
    if not auth.same_origin(request):
        raise json_error(403, "cross-site request refused")
    body = await json_object(request)
    try:
        action = RecordingAction(str(body.get("action")))
    except ValueError:
        action = RecordingAction.START
    if action not in requests.DESK_ACTIONS:
        raise json_error(400, 'action: "pause" or "resume"')
    home, agent_id = await agent_of(ctx(request), who, NOT_AN_AGENT)
    tenant_id = home.tenant_id
    c = ctx(request)
    async with c.store.tenant(tenant_id) as session:
        try:
            row_id = await requests.request(session, tenant_id, agent_id, action, c.clock())
        except requests.NoRecordedCall as exc:
            return web.json_response({"error": exc.message, "reason": "no-recorded-call"}, status=409)
        await session.commit()
    return web.json_response({"request": row_id, "action": str(action)}, status=202)


async def state(request: web.Request) -> web.Response:
    who = await api_user(request)
    home, agent_id = await agent_of(ctx(request), who, NOT_AN_AGENT)
    tenant_id = home.tenant_id
    async with ctx(request).store.tenant(tenant_id) as session:
        call = await requests.recorded_call(session, agent_id)
        last = None
        if call is not None:
            last = await session.scalar(
                select(m.RecordingRequest.action)
                .where(m.RecordingRequest.interaction_id == call)
                .order_by(m.RecordingRequest.id.desc())
                .limit(1)
            )
    return web.json_response({"recorded": call is not None, "interaction": call, "paused": last == "pause"})


def add_routes(r: web.UrlDispatcher) -> None:
    r.add_post("/api/agent/recording", ask)
    r.add_get("/api/agent/recording", state)
