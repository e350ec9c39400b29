"""The aiohttp application: its context, security headers, lifecycle, and the one list of route modules.

Each area is a module with ``add_routes(router)`` (login, pages, API, streams, operations…); a new area is
one more entry in ``ROUTE_MODULES``. What they share (who is asking, tenant checks) is tvoxcc.web.context.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

import jinja2
from aiohttp import web

from tvoxcc.config import WebSettings
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.recordings.repository import Repository
from tvoxcc.store.engine import Store
from tvoxcc.store.types import utcnow
from tvoxcc.web import (
    api,
    chat,
    contacts,
    data,
    desk,
    desk_dial,
    desk_recording,
    desk_tickets,
    listen,
    login,
    metrics,
    ops,
    pages,
    preview,
    scripts,
    streams,
)
from tvoxcc.web import recordings as recording_routes
from tvoxcc.web.chat_hub import ChatHub, VisitorLimits
from tvoxcc.web.context import CONTEXT, HERE, METRICS, Context
from tvoxcc.web.desk_calls import CallWatch
from tvoxcc.web.live import LiveHub


class RouteModule(Protocol):
    def add_routes(self, r: web.UrlDispatcher) -> None: ...


# The one place where route modules are registered.
ROUTE_MODULES: tuple[RouteModule, ...] = (
    login, pages, api, streams, ops, chat, desk, desk_tickets, contacts, listen, desk_dial, desk_recording, scripts,
    preview,
)  # fmt: skip


@web.middleware
async def headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def build_app(
    store: Store,
    settings: WebSettings,
    *,
    clock: Callable[[], datetime] = utcnow,
    recordings: Repository | None = None,
    mail_templates: MailTemplates | None = None,
) -> web.Application:
    """``mail_templates``: what replies from the desktop are written with (`web run`: the data_dir's overrides)."""
    secret = settings.secret.get_secret_value().encode() if settings.secret else secrets.token_bytes(32)
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    app = web.Application(middlewares=[headers])
    hub = LiveHub(store, clock, settings.poll_interval)
    limits = VisitorLimits.per_minute(settings.chat_opens_per_minute, settings.chat_messages_per_minute)
    chats = ChatHub(store, clock, settings.poll_interval, limits)
    app[CONTEXT] = Context(store, settings, hub, data.FiguresCache(store), secret, clock, environment, chats)
    app[METRICS] = metrics.Exporter()
    app[desk_tickets.TEMPLATES] = mail_templates or MailTemplates()

    calls = CallWatch(store, chats, settings.poll_interval)

    async def lifecycle(_: web.Application) -> Any:
        await hub.start()
        await chats.start()
        await calls.start()
        yield
        await calls.stop()
        await chats.stop()
        await hub.stop()

    async def end_streams(_: web.Application) -> None:
        await hub.end_streams()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(end_streams)  # before the server waits for running handlers (aiohttp's order)
    for module in ROUTE_MODULES:
        module.add_routes(app.router)
    if recordings is not None:  # the repository needs the whole configuration: `web run` hands it over
        recording_routes.add_routes(app, recordings)
    return app


__all__ = ["CONTEXT", "ROUTE_MODULES", "build_app"]
