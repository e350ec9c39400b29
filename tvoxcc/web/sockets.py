"""A websocket served with a hub listener: events pushed as JSON while the client's messages are handled.

Chat messages go out once each and in order per chat: a pushed message numbered past the next one expected
(one the push did not carry, a system message a move stored) and a ``sync`` event make the socket replay
from the store what follows the last number it sent; a number it sent already is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from tvoxcc.web.chat_hub import Event, Listener

log = logging.getLogger(__name__)

MAX_FRAME = 16 * 1024  # a client message (a chat message is at most 2,000 characters)


async def serve(
    ws: web.WebSocketResponse,
    listener: Listener,
    on_message: Callable[[dict[str, Any]], Awaitable[None]],
    replay: Callable[[int, int], Awaitable[list[Event]]],
    *,
    idle: Callable[[], Awaitable[None]] | None = None,
    intercept: Callable[[Event], Awaitable[bool]] | None = None,
    idle_s: float = 3.0,
) -> None:
    """Push ``listener``'s events and hand each client message (a JSON object) to ``on_message`` until either
    side closes; ``idle`` runs when no event came for ``idle_s`` (a waiting visitor's place); ``intercept``
    sees each event first and returns True for one it handled itself."""

    async def next_event() -> Event | None:
        """The next event, None when none came for ``idle_s``. Without wait_for (a task and a timer per event,
        and a cancelled task per idle socket every ``idle_s``: a busy hub's many sockets made it a cost)."""
        if not listener.events.empty():
            return listener.events.get_nowait()
        if idle is None:  # nothing to do when idle: wait as long as it takes (the socket's end cancels it)
            return await listener.events.get()
        try:
            async with asyncio.timeout(idle_s):
                return await listener.events.get()
        except TimeoutError:
            return None

    async def push() -> None:
        while not ws.closed:
            event = await next_event()
            if event is None:
                if idle is not None:
                    await _survive(idle())
                continue
            if listener.overflowed:
                await ws.close(code=4000, message=b"too far behind: reconnect")
                return
            await _survive(send(event))  # a failed replay: the next message or sync replays again

    async def send(event: Event) -> None:
        if intercept is not None and await intercept(event):
            return
        kind, chat = event.get("type"), event.get("chat")
        if kind not in ("msg", "sync") or not isinstance(chat, int) or chat not in listener.seen:
            if kind != "sync":
                await ws.send_json(event)
            return
        last = listener.seen[chat]
        if kind == "sync" or int(event["seq"]) > last + 1:
            for missed in await replay(chat, last):
                await _once(missed)
        if kind == "msg":
            await _once(event)

    async def _once(event: Event) -> None:
        chat, seq = int(event["chat"]), int(event["seq"])
        if seq <= listener.seen.get(chat, 0):
            return
        listener.seen[chat] = seq
        await ws.send_json(event)

    pusher = asyncio.create_task(push())
    try:
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                break
            try:
                body = json.loads(message.data)
            except ValueError:
                await ws.send_json({"type": "error", "message": "not JSON"})
                continue
            if isinstance(body, dict) and not await _survive(on_message(body)):
                await ws.send_json({"type": "error", "message": "not done: try again"})
    finally:
        pusher.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
            await pusher


async def _survive(step: Awaitable[None]) -> bool:
    """Run one step of a socket; a failure (the store busy or away a moment) is logged, the socket lives on:
    the client replays by number, so nothing is lost."""
    try:
        await step
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception as exc:
        log.warning("websocket step failed: %s: %s", type(exc).__name__, exc)
        return False
    return True
