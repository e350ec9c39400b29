"""The agent desktop: ``/agent`` (the page) and ``/agent/ws`` (its websocket), for a user linked to an agent.

The desktop asks the ACD through the store (acd_inputs: log in/out, pause with an activity code, end wrap-up,
accept or decline an offered chat) and shows what the ACD decided (its rows): the agent's state, the chats
offered to or connected with them (up to their chat capacity: the router's rule), each with its transcript
and the screen pop of its contact's journey. A reload replays each chat after the last number the page saw.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from sqlalchemy import select

from tvoxcc.acd import InputKind, send_input
from tvoxcc.chat import routing_store as routing
from tvoxcc.chat.core import ChatError, ChatStatus, RateLimit, Sender, clean_body
from tvoxcc.chat.store import ChatInfo, Post, messages_after
from tvoxcc.dispositions.core import DispositionError
from tvoxcc.dispositions.store import dispositions, set_disposition
from tvoxcc.journey.contacts import ContactNotFound, JourneyError
from tvoxcc.store import models as m
from tvoxcc.support.dispatch_store import names_of
from tvoxcc.voice.acd_config import agent_id as router_agent_id
from tvoxcc.web import auth
from tvoxcc.web.access import Principal
from tvoxcc.web.chat_hub import Event, Listener
from tvoxcc.web.context import (
    HERE,
    Context,
    agent_of,
    api_user,
    checked_post,
    ctx,
    html_page,
    json_error,
    page_user,
)
from tvoxcc.web.desk_calls import DeskCall, agent_calls, call_pop, decline_call
from tvoxcc.web.journey import screen_pop_json
from tvoxcc.web.pages import error_page
from tvoxcc.web.sockets import MAX_FRAME, serve
from tvoxcc.web.views import TenantConfig

AGENT_STATIC = HERE / "static" / "agent"
AGENT_FILES = frozenset(p.name for p in AGENT_STATIC.iterdir() if p.suffix in (".js", ".css"))  # the page's modules
REQUESTS = {
    "login": InputKind.LOGIN,
    "logout": InputKind.LOGOUT,
    "pause": InputKind.PAUSE,
    "unpause": InputKind.UNPAUSE,
    "end-wrapup": InputKind.END_WRAPUP,
}


class Desk:
    """One desktop's agent: who, in which tenant, as the router names them."""

    def __init__(self, config: TenantConfig, agent_row: int, name: str) -> None:
        self.config = config
        self.agent_row = agent_row
        self.name = name
        self.rid = router_agent_id(config.name, name)


async def _desk(c: Context, who: Principal) -> Desk:
    config, row = await agent_of(c, who, "the desktop is for a user linked to an agent")
    assert who.agent is not None  # agent_of refuses a user linked to no agent
    return Desk(config, row, who.agent)


async def page(request: web.Request) -> web.StreamResponse:
    who = await page_user(request)
    try:
        desk = await _desk(ctx(request), who)
    except web.HTTPException as exc:
        return error_page(request, exc)
    return html_page(request, "agent.html", user=who, tenant=desk.config.name, agent=desk.name)


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in AGENT_FILES:
        raise web.HTTPNotFound()
    return web.FileResponse(AGENT_STATIC / name)


async def _state(c: Context, desk: Desk) -> Event:
    """The agent's ACD state, their chats, and what the page offers (pause codes, queues to transfer to)."""
    async with c.store.tenant(desk.config.tenant_id) as session:
        row = await session.get(m.AcdAgent, desk.rid)
        codes = await session.execute(
            select(m.ActivityCode.code, m.ActivityCode.name).where(m.ActivityCode.kind == "pause")
        )
        names = await names_of(session)
        agents = sorted(a for a in (await session.execute(select(m.Agent.name))).scalars() if a != desk.name)
    chats = await routing.agent_chats(c.store, desk.config.tenant_id, desk.agent_row)
    calls = await agent_calls(c.store, desk.config.tenant_id, desk.rid)
    return {
        "type": "state",
        "agent": {
            "name": desk.name,
            "status": row.status if row else "logged-out",
            "pause_code": row.pause_code if row else None,
            "wrapup_until": row.wrapup_until if row else 0.0,
            "load": dict(row.load) if row else {},
            "capacity": dict(row.capacity) if row else {},
        },
        "chats": [chat.to_json(names) for chat in chats],
        "calls": [call.to_json() for call in calls],
        "codes": [{"code": code, "name": name} for code, name in codes.all()],
        "queues": sorted(names.short(q) for q in names.queues.values()),
        "agents": agents,
    }


async def _pop(c: Context, config: TenantConfig, chat: ChatInfo) -> dict[str, Any]:
    """The journey summary of the chat's contact (found by the visitor's e-mail), or who they said they are."""
    if chat.visitor_email:
        try:
            return await screen_pop_json(c.store, config, chat.visitor_email)
        except (ContactNotFound, JourneyError):
            pass
    return {"contact": None, "name": chat.visitor_name, "email": chat.visitor_email}


async def socket(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    who = await api_user(request)
    if not auth.same_origin(request):  # a page of another site must not drive an agent's desktop
        raise json_error(403, "cross-origin request refused")
    desk = await _desk(c, who)
    tenant_id = desk.config.tenant_id
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_FRAME)
    await ws.prepare(request)
    listener = Listener()
    c.chats.listen_agent(desk.agent_row, listener)
    popped: set[tuple[int, int]] = set()
    popped_calls: set[str] = set()

    mine: set[int] = set()  # the chats offered to or connected with the agent, as last looked at
    typing = RateLimit(per_s=1.0, burst=1.0)  # typing hints: at most one a second
    loop = asyncio.get_running_loop()

    async def refresh() -> None:
        state = await _state(c, desk)
        mine.clear()
        mine.update(chat["chat"] for chat in state["chats"] if chat["status"] == ChatStatus.CONNECTED)
        await ws.send_json(state)
        for call in state["calls"]:
            if call["item"] not in popped_calls:  # the screen pop once per call, as its offer rings the phone
                popped_calls.add(call["item"])
                pop = await call_pop(c.store, desk.config, DeskCall.of_json(call))
                await ws.send_json({"type": "call-pop", "item": call["item"], "pop": pop})
        for chat in await routing.agent_chats(c.store, tenant_id, desk.agent_row):
            c.chats.listen_chat(chat.chat_id, listener)
            if (chat.chat_id, chat.leg) not in popped:  # the screen pop once per offer
                popped.add((chat.chat_id, chat.leg))
                pop = await _pop(c, desk.config, chat)
                await ws.send_json({"type": "pop", "chat": chat.chat_id, "pop": pop})

    async def replay(chat: int, last: int) -> list[Event]:
        return [
            {"type": "msg", "chat": chat, **x.to_json()} for x in await messages_after(c.store, tenant_id, chat, last)
        ]

    async def on_message(body: dict[str, Any]) -> None:
        kind, now = str(body.get("type", "")), c.clock()
        chat_id = body.get("chat")
        try:
            if kind in REQUESTS:
                payload = {"code": str(body.get("code", "break"))[:64]} if kind == "pause" else {}
                seq = await send_input(c.store, REQUESTS[kind], agent_id=desk.rid, **payload)
                await routing.answered(c.store, seq)
                listener.put({"type": "refresh"})
            elif kind == "sync" and isinstance(chat_id, int):
                after = body.get("after", 0)
                listener.seen[chat_id] = max(0, after if isinstance(after, int) else 0)
                listener.put({"type": "sync", "chat": chat_id})
            elif kind == "refresh":
                listener.put({"type": "refresh"})
            elif kind == "decline-call":  # the phone rings: the agent will not take this call (ring-no-answer)
                await decline_call(c.store, desk.config.tenant_id, desk.rid, str(body.get("item", "")))
                listener.put({"type": "refresh"})
            elif kind == "typing" and isinstance(chat_id, int):
                if chat_id in mine and typing.allow(str(chat_id), loop.time()):  # not stored: a hint, at most 1/s
                    c.chats.shared(chat_id, {"type": "typing", "chat": chat_id, "from": "agent", "name": desk.name})
            elif not isinstance(chat_id, int):
                raise ChatError(f"unknown request {kind!r}")
            elif kind == "say":
                cid = str(body.get("cid", ""))[:64] or None
                text = clean_body(body.get("body"))
                post = Post(chat_id, Sender.AGENT, text, now, agent_id=desk.agent_row, client_id=cid)
                message = await c.chats.posts.post(tenant_id, post)
                event = {"type": "msg", "chat": chat_id, **message.to_json(), "agent": desk.name}
                c.chats.to_chat(chat_id, event)
            elif kind in ("accept", "decline", "close", "transfer"):
                chat = await _move(c, desk, kind, chat_id, str(body.get("queue", "")), str(body.get("agent", "")))
                c.chats.chat_changed(chat)
                listener.put({"type": "refresh"})
            else:
                raise ChatError(f"unknown request {kind!r}")
        except ChatError as exc:
            await ws.send_json({"type": "error", "message": str(exc)})

    async def on_event(event: Event) -> bool:
        if event.get("type") == "refresh":
            await refresh()
            return True
        return False

    try:
        await refresh()
        await serve(ws, listener, on_message, replay, intercept=on_event, idle_s=30.0)
    finally:
        c.chats.forget(listener)
    return ws


async def _move(c: Context, desk: Desk, kind: str, chat_id: int, queue: str, agent: str) -> ChatInfo:
    tenant_id, now = desk.config.tenant_id, c.clock()
    if kind == "accept":
        return await routing.accept(c.store, tenant_id, chat_id, desk.agent_row, now)
    if kind == "decline":
        return await routing.decline(c.store, tenant_id, chat_id, desk.agent_row, now)
    if kind == "transfer" and agent:  # to a named agent, else to a queue
        return await routing.transfer_to_agent(c.store, tenant_id, chat_id, desk.agent_row, agent, now)
    if kind == "transfer":
        return await routing.transfer(c.store, tenant_id, chat_id, desk.agent_row, queue, now)
    return await routing.close(c.store, tenant_id, chat_id, now, agent_id=desk.agent_row)


async def disposition_codes(request: web.Request) -> web.Response:
    """GET /agent/dispositions: the tenant's disposition codes, for the wrap-up picker."""
    c = ctx(request)
    desk = await _desk(c, await api_user(request))
    return web.json_response({"codes": await dispositions(c.store, desk.config.name)})


async def dispose(request: web.Request) -> web.Response:
    """POST /agent/disposition {"code": "90"}: the disposition of the agent's contact just ended (as *76<code>
    on the phone); 400 with the reason for an unknown code or no contact."""
    c = ctx(request)
    desk = await _desk(c, await api_user(request))
    fields = await checked_post(request)
    try:
        done = await set_disposition(c.store, desk.config.name, desk.name, fields.get("code", ""), c.clock())
    except DispositionError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": str(exc), "reason": exc.reason.value}), content_type="application/json"
        ) from None
    body = {"code": done.code, "name": done.name, "target": done.target.value, "id": done.row_id}
    return web.json_response({**body, "record_state": done.record_state})


def add_routes(r: web.UrlDispatcher) -> None:
    r.add_get("/agent", page)
    r.add_get("/agent/dispositions", disposition_codes)
    r.add_post("/agent/disposition", dispose)
    r.add_get("/agent/ws", socket)
    r.add_get("/agent/static/{name}", static)
