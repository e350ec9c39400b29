"""POST /api/tenants/{tenant}/agents/{agent}/listen: a supervisor asks to listen to (whisper to, barge into)
an agent's call from the wallboard or the agent list; their own phone rings first.

The web app has no line to Asterisk: it checks the request (tvoxcc.supervision.rights, the phone's rule too)
and stores it as a ``listen_sessions`` row in phase ``requested``; the voice service takes it, rings the
supervisor's phone (the agent linked to the user) and runs the session when they answer. A refusal is a row
too, and the answer says why (another tenant's agent is answered as if it did not exist).
Body (JSON, optional): {"mode": "listen" | "whisper" | "barge"}; 202 {"session": row id} when accepted.
"""

from __future__ import annotations

import json

from aiohttp import web

from tvoxcc.supervision.rights import refusal
from tvoxcc.supervision.session import ListenSession, Mode, Origin, Refusal
from tvoxcc.supervision.store import ListenStore, Request
from tvoxcc.web import auth
from tvoxcc.web import context as web_app  # the shared guards

MESSAGES: dict[Refusal, tuple[int, str]] = {
    Refusal.UNKNOWN_SUPERVISOR: (403, "only a supervisor or an admin may listen to calls"),
    Refusal.NOT_SUPERVISOR: (403, "only a supervisor or an admin may listen to calls"),
    Refusal.OTHER_TENANT: (404, "no such agent"),
    Refusal.UNKNOWN_AGENT: (404, "no such agent"),
    Refusal.OWN_CALL: (403, "you cannot listen to your own calls"),
    Refusal.OUT_OF_SCOPE: (403, "not an agent of your groups"),
    Refusal.NOT_ON_CALL: (409, "the agent is not on a call"),
    Refusal.NO_PHONE: (409, "no phone is linked to your user: link an agent to it (tvoxcc user set --agent)"),
}


async def request_listen(request: web.Request) -> web.Response:
    who = await web_app.api_user(request)
    if not auth.same_origin(request):
        raise web_app.json_error(403, "cross-site request refused")
    mode = await _mode(request)
    c = web_app.ctx(request)
    store = ListenStore(c.store)
    tenant, agent = request.match_info["tenant"], request.match_info["agent"]
    target = await store.target(tenant, name=agent)
    phone = await store.phone_of(who.user_id)
    now = c.clock()
    session = ListenSession(mode, now)
    reason = refusal(who, target) or (Refusal.NO_PHONE if phone is None else None)
    if reason is not None:
        session.refuse(reason, now)
    asked = Request(Origin.WEB, tenant, who.username, who.user_id, phone or "", agent, "", mode)
    row_id = await store.open(asked, session, target)
    if reason is not None:
        status, message = MESSAGES[reason]
        return web.json_response({"error": message, "reason": reason.value, "session": row_id}, status=status)
    return web.json_response({"session": row_id, "mode": mode.value, "phone": phone}, status=202)


async def _mode(request: web.Request) -> Mode:
    if not request.can_read_body:
        return Mode.LISTEN
    try:
        body = await request.json()
    except json.JSONDecodeError:
        raise web_app.json_error(400, "the body must be JSON") from None
    value = body.get("mode", Mode.LISTEN.value) if isinstance(body, dict) else None
    if value not in {m.value for m in Mode}:
        raise web_app.json_error(400, f"mode: one of {', '.join(m.value for m in Mode)}")
    return Mode(value)


def add_routes(r: web.UrlDispatcher) -> None:
    r.add_post("/api/tenants/{tenant}/agents/{agent}/listen", request_listen)
