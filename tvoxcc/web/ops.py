"""Operations endpoints: Prometheus /metrics and /healthz."""

from __future__ import annotations

import hmac
import ipaddress

from aiohttp import web
from sqlalchemy import text

from tvoxcc.web import metrics
from tvoxcc.web.context import METRICS, ctx, current_user


def _loopback(request: web.Request) -> bool:
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


async def prometheus(request: web.Request) -> web.Response:
    """Bearer ``[web] metrics_token`` when set, else loopback clients; an admin's session always works."""
    c = ctx(request)
    token = c.settings.metrics_token
    bearer = request.headers.get("Authorization", "")
    if token is not None:
        allowed = hmac.compare_digest(bearer.encode(), f"Bearer {token.get_secret_value()}".encode())
    else:
        allowed = _loopback(request)
    if not allowed:
        who = await current_user(request)
        if who is None or who.role != "admin":
            raise web.HTTPUnauthorized(text="metrics: bearer token or admin login required\n")
    samples = await metrics.gather(c.store, c.hub, c.figures, c.clock)
    body = request.app[METRICS].render(samples)
    return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})  # nosniff: the headers middleware


async def healthz(request: web.Request) -> web.Response:
    try:
        async with ctx(request).store.session() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        return web.json_response({"status": "error", "database": type(exc).__name__}, status=503)
    return web.json_response({"status": "ok"})


def add_routes(r: web.UrlDispatcher) -> None:
    r.add_get("/metrics", prometheus)
    r.add_get("/healthz", healthz)
