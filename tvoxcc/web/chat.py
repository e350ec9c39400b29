"""The webchat widget's side: the script, opening a chat (or leaving a message), the visitor's websocket.

Embedding: ``<script src="https://cc.example/chat/widget.js" data-tenant="acme" data-service="web">``.
The widget talks back to the origin it was loaded from; it holds no session cookie, only the chat's secret
(returned by ``open``, kept in the page's sessionStorage), so the JSON endpoints answer any origin (CORS).
A visitor who reconnects (reload, dropped connection) passes ``after``, the last message number seen,
and gets what came after it first; messages they send carry their own id (``cid``): a resend is stored once.
Limits per visitor: chats opened per minute per address, messages per minute per chat, message size.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from tvoxcc.chat import routing_store as routing
from tvoxcc.chat.core import MAX_EMAIL, MAX_NAME, ChatError, ChatStatus, RateLimit, Sender, clean_body
from tvoxcc.chat.store import ChatNotFound, Post, leave_message, messages_after, open_chat, visitor_chat
from tvoxcc.web import data
from tvoxcc.web.chat_hub import Event, Listener
from tvoxcc.web.context import HERE, ctx, json_error
from tvoxcc.web.sockets import MAX_FRAME, serve

CHAT_STATIC = HERE / "static" / "chat"
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Content-Type"}


def _allowed(request: web.Request, kind: str, key: str) -> bool:
    limits = ctx(request).chats.limits
    return (limits.opens if kind == "open" else limits.messages).allow(key, time.monotonic())


async def widget_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in ("widget.js", "widget.css"):
        raise web.HTTPNotFound()
    response = web.FileResponse(CHAT_STATIC / name, headers=CORS)
    return response


async def demo_page(request: web.Request) -> web.Response:
    """A plain page with the widget embedded, as a customer's site would (the demo, the browser test)."""
    html = (
        ctx(request)
        .pages.get_template("chat_demo.html")
        .render(tenant=request.match_info["tenant"], service=request.match_info["service"])
    )
    return web.Response(text=html, content_type="text/html")


async def _tenant_id(request: web.Request) -> int:
    config = await data.tenant_config(ctx(request).store, request.match_info["tenant"])
    if config is None:
        raise json_error(404, "no such tenant")
    return config.tenant_id


async def _fields(request: web.Request) -> dict[str, str]:
    try:
        body = await request.json()
    except ValueError:
        raise json_error(400, "body is not JSON") from None
    if not isinstance(body, dict):
        raise json_error(400, "body must be a JSON object")
    name, email = str(body.get("name", "")).strip(), str(body.get("email", "")).strip()
    if not name or len(name) > MAX_NAME:
        raise json_error(400, f"name: 1 to {MAX_NAME} characters")
    if len(email) > MAX_EMAIL or (email and "@" not in email):
        raise json_error(400, "email: not an e-mail address")
    return {"name": name, "email": email, "body": str(body.get("body", ""))}


async def open_(request: web.Request) -> web.Response:
    """A chat queued for the service, or ``no-agent`` (then the widget offers to leave a message)."""
    if not _allowed(request, "open", request.remote or ""):
        raise json_error(429, "too many chats from this address: try again in a minute")
    c, tenant_id = ctx(request), await _tenant_id(request)
    fields = await _fields(request)
    service = request.match_info["service"]
    try:
        # Outside the service's business hours, or nobody to answer now: the visitor leaves a message.
        if not await routing.in_hours(c.store, tenant_id, service, c.clock()):
            return web.json_response({"status": "no-agent", "reason": "closed"}, headers=CORS)
        if not await routing.staffed(c.store, tenant_id, service):
            return web.json_response({"status": "no-agent", "reason": "nobody"}, headers=CORS)
        chat, token = await open_chat(
            c.store, tenant_id, service, name=fields["name"], email=fields["email"], now=c.clock()
        )
    except ChatNotFound as exc:
        raise json_error(404, str(exc)) from None
    return web.json_response({"chat": chat.chat_id, "token": token, "status": str(chat.status)}, headers=CORS)


async def leave(request: web.Request) -> web.Response:
    """No agent now: the message becomes a ticket of the service."""
    if not _allowed(request, "open", request.remote or ""):
        raise json_error(429, "too many messages from this address: try again in a minute")
    c, tenant_id = ctx(request), await _tenant_id(request)
    fields = await _fields(request)
    try:
        body = clean_body(fields["body"])
        number = await leave_message(
            c.store,
            tenant_id,
            request.match_info["service"],
            name=fields["name"],
            email=fields["email"],
            body=body,
            now=c.clock(),
        )
    except ChatNotFound as exc:
        raise json_error(404, str(exc)) from None
    except ChatError as exc:
        raise json_error(400, str(exc)) from None
    return web.json_response({"ticket": f"T-{number}"}, headers=CORS)


async def preflight(request: web.Request) -> web.Response:
    return web.Response(status=204, headers=CORS | {"Access-Control-Allow-Methods": "POST"})


async def visitor_socket(request: web.Request) -> web.StreamResponse:
    """The visitor's conversation: what they missed after ``after``, then messages and state as they come."""
    c, tenant_id = ctx(request), await _tenant_id(request)
    try:
        chat_id, after = int(request.match_info["chat"]), int(request.query.get("after", "0"))
        chat = await visitor_chat(c.store, tenant_id, chat_id, request.query.get("token", ""))
    except (ValueError, ChatNotFound):
        raise json_error(404, "no such chat") from None
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_FRAME)
    await ws.prepare(request)
    listener = Listener()
    c.chats.listen_chat(chat_id, listener)  # before the replay: nothing falls between the two
    status = [chat.status]
    typing = RateLimit(per_s=1.0, burst=1.0)  # typing hints: at most one a second

    async def send_place() -> None:
        current = await visitor_chat(c.store, tenant_id, chat_id, request.query.get("token", ""))
        status[0] = current.status
        place = await c.chats.place(current)
        await ws.send_json(
            {"type": "state", "status": str(current.status), "position": place.position, "wait_s": place.wait_s}
        )

    async def on_message(body: dict[str, Any]) -> None:
        kind = body.get("type")
        try:
            if kind == "say":
                if not _allowed(request, "say", str(chat_id)):
                    raise ChatError("too many messages: wait a little")
                cid = str(body.get("cid", ""))[:64] or None
                post = Post(chat_id, Sender.CUSTOMER, clean_body(body.get("body")), c.clock(), client_id=cid)
                message = await c.chats.posts.post(tenant_id, post)
                c.chats.to_chat(chat_id, {"type": "msg", "chat": chat_id, **message.to_json()})
            elif kind == "close":
                c.chats.chat_changed(await routing.close(c.store, tenant_id, chat_id, c.clock()))
            elif kind == "typing" and typing.allow(str(chat_id), asyncio.get_running_loop().time()):
                c.chats.shared(chat_id, {"type": "typing", "chat": chat_id, "from": "customer"})  # a hint, not stored
        except ChatError as exc:
            await ws.send_json({"type": "error", "message": str(exc)})

    async def idle() -> None:
        if status[0] in (ChatStatus.QUEUED, ChatStatus.OFFERED):
            await send_place()

    async def on_event(event: Event) -> bool:
        if event.get("type") == "state":  # with the visitor's place in the queue
            await send_place()
            return True
        return False

    async def replay(chat: int, last: int) -> list[Event]:
        return [
            {"type": "msg", "chat": chat, **x.to_json()} for x in await messages_after(c.store, tenant_id, chat, last)
        ]

    try:
        listener.seen[chat_id] = after
        listener.put({"type": "sync", "chat": chat_id})  # what was missed first
        await send_place()
        await serve(ws, listener, on_message, replay, idle=idle, intercept=on_event)
    finally:
        c.chats.forget(listener)
    return ws


def add_routes(r: web.UrlDispatcher) -> None:
    r.add_get("/chat/{name}", widget_file)
    r.add_get("/chat/demo/{tenant}/{service}", demo_page)
    r.add_post("/chat/api/{tenant}/{service}/open", open_)
    r.add_post("/chat/api/{tenant}/{service}/leave", leave)
    r.add_route("OPTIONS", "/chat/api/{tenant}/{service}/{action}", preflight)
    r.add_get("/chat/ws/{tenant}/{chat}", visitor_socket)
