"""The aiohttp application: login, wallboard pages, the JSON API, Server-Sent Events, /metrics, /healthz.

Every tenant route goes through ``api_user`` (401 without a session) and ``visible_tenant`` (404 for a
tenant that does not exist or that the user may not see), then filters by role (tvoxcc.web.access).
A new route gets the same checks by calling those two first in its handler (see ``journey``).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web
from sqlalchemy import text

from tvoxcc.config import WebSettings
from tvoxcc.journey.contacts import ContactNotFound, JourneyError
from tvoxcc.recordings.repository import Repository
from tvoxcc.store.engine import Store
from tvoxcc.store.types import utcnow
from tvoxcc.web import auth, data, listen, metrics
from tvoxcc.web.access import Principal
from tvoxcc.web.journey import journey_json, screen_pop_json
from tvoxcc.web.live import LiveHub
from tvoxcc.web.views import TenantConfig, agent_views, live_view, queue_views

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
HEARTBEAT_S = 10.0  # an idle event stream gets fresh figures (and its session re-checked) this often
PRINCIPAL: web.RequestKey[Principal | None] = web.RequestKey("tvoxcc.principal")


@dataclass
class Context:
    store: Store
    settings: WebSettings
    hub: LiveHub
    figures: data.FiguresCache
    secret: bytes
    clock: Callable[[], datetime]
    pages: jinja2.Environment


CONTEXT = web.AppKey("tvoxcc", Context)
METRICS = web.AppKey("tvoxcc.metrics", metrics.Exporter)


def ctx(request: web.Request) -> Context:
    return request.app[CONTEXT]


def json_error(status: int, message: str) -> web.HTTPException:
    body = json.dumps({"error": message})
    classes: dict[int, type[web.HTTPException]] = {
        400: web.HTTPBadRequest,
        401: web.HTTPUnauthorized,
        403: web.HTTPForbidden,
        404: web.HTTPNotFound,
    }
    return classes[status](text=body, content_type="application/json")


# -- who is asking ------------------------------------------------------------------------------------


async def current_user(request: web.Request) -> Principal | None:
    if PRINCIPAL not in request:
        c = ctx(request)
        request[PRINCIPAL] = await auth.principal_of(c.store, request.cookies.get(auth.SESSION_COOKIE), c.clock())
    return request[PRINCIPAL]


async def api_user(request: web.Request) -> Principal:
    who = await current_user(request)
    if who is None:
        raise json_error(401, "login required")
    return who


async def page_user(request: web.Request) -> Principal:
    who = await current_user(request)
    if who is None:
        raise web.HTTPFound(f"/login?next={quote(request.path_qs, safe='/')}")
    return who


async def visible_tenant(request: web.Request, who: Principal) -> TenantConfig:
    config = await data.tenant_config(ctx(request).store, request.match_info["tenant"])
    if config is None or not who.sees_tenant(config.tenant_id):
        raise json_error(404, "no such tenant")  # the same answer: another tenant's name is not confirmed
    return config


def visible_queue(config: TenantConfig, who: Principal, queue: str) -> None:
    if queue not in config.queues:
        raise json_error(404, "no such queue")
    if not who.sees_queue(queue):
        raise json_error(403, "not one of your queues")


def own_agent(who: Principal) -> str | None:
    """Whose figures: None for the whole tenant; an agent (or support) user sees only their own."""
    if who.sees_whole_tenant:
        return None
    if who.agent is None:
        raise json_error(403, "no agent is linked to this user")
    return who.agent


# -- login ---------------------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never "//host" or "http://…" (an open redirect).
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    c = ctx(request)
    nonce, token = auth.csrf_pair(c.secret)
    html = c.pages.get_template("login.html").render(
        error=error, csrf=token, next=_safe_next(request.query.get("next"))
    )
    response = web.Response(text=html, content_type="text/html", status=status)
    response.set_cookie(auth.CSRF_COOKIE, nonce, httponly=True, samesite="Strict", secure=c.settings.secure_cookies)
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    if await current_user(request) is not None:
        raise web.HTTPFound(_safe_next(request.query.get("next")))
    return _login_page(request)


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _is_json(request: web.Request) -> bool:
    return request.content_type == "application/json"


async def _checked_post(request: web.Request) -> dict[str, str]:
    """A POST's fields, once it passed the CSRF checks."""
    if not auth.same_origin(request):
        raise json_error(403, "cross-origin request refused")
    if _is_json(request):
        try:
            body = await request.json()
        except ValueError:
            raise json_error(400, "body is not JSON") from None
        if not isinstance(body, dict):
            raise json_error(400, "body must be a JSON object")
        return {k: v for k, v in body.items() if isinstance(v, str)}
    form = await request.post()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not auth.csrf_valid(ctx(request).secret, request.cookies.get(auth.CSRF_COOKIE), fields.get("csrf")):
        raise json_error(403, "missing or stale form token: reload the page")
    return fields


async def login(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    fields = await _checked_post(request)
    username, password = fields.get("username", ""), fields.get("password", "")
    user_id = (
        await auth.check_password(c.store, username, password, remote=request.remote) if username and password else None
    )
    if user_id is None:
        log.info("web: failed login for user %r from %s", username[:64], request.remote)
        if _is_json(request):
            raise json_error(401, "invalid username or password")
        return _login_page(request, "Invalid username or password.", status=401)
    token = await auth.open_session(c.store, user_id, c.clock(), c.settings.session_hours)
    who = await auth.principal_of(c.store, token, c.clock())
    assert who is not None
    log.info("web: %s logged in (%s)", who.username, who.role)
    response: web.StreamResponse
    if _is_json(request):
        response = web.json_response({"user": who.as_json()})
    else:
        response = _see_other(_safe_next(fields.get("next")))
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=c.settings.secure_cookies,
        max_age=int(c.settings.session_hours * 3600),
    )
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    await _checked_post(request)
    token = request.cookies.get(auth.SESSION_COOKIE)
    if token:
        await auth.close_session(ctx(request).store, token)
    response: web.StreamResponse = web.Response(status=204) if _is_json(request) else _see_other("/login")
    response.del_cookie(auth.SESSION_COOKIE)
    return response


# -- pages ---------------------------------------------------------------------------------------------


async def home(request: web.Request) -> web.StreamResponse:
    who = await page_user(request)
    if who.tenant is not None:
        raise web.HTTPFound(f"/wallboard/{quote(who.tenant)}")
    tenants = await data.tenant_names(ctx(request).store)
    html = ctx(request).pages.get_template("home.html").render(tenants=list(tenants), user=who)
    return web.Response(text=html, content_type="text/html")


async def wallboard(request: web.Request) -> web.StreamResponse:
    who = await page_user(request)
    c = ctx(request)
    try:
        config = await visible_tenant(request, who)
        queue = request.match_info.get("queue")
        if queue is not None:
            visible_queue(config, who, queue)
    except web.HTTPException as exc:
        html = c.pages.get_template("error.html").render(status=exc.status, reason=exc.reason)
        return web.Response(text=html, content_type="text/html", status=exc.status)
    nonce, token = auth.csrf_pair(c.secret)
    html = c.pages.get_template("wallboard.html").render(tenant=config.name, queue=queue, user=who, csrf=token)
    response = web.Response(text=html, content_type="text/html")
    response.set_cookie(auth.CSRF_COOKIE, nonce, httponly=True, samesite="Strict", secure=c.settings.secure_cookies)
    return response


# -- API -----------------------------------------------------------------------------------------------


async def me(request: web.Request) -> web.Response:
    return web.json_response((await api_user(request)).as_json())


async def tenants(request: web.Request) -> web.Response:
    who = await api_user(request)
    names = await data.tenant_names(ctx(request).store)
    return web.json_response([{"name": n} for n, tid in names.items() if who.sees_tenant(tid)])


async def queues(request: web.Request) -> web.Response:
    who = await api_user(request)
    config = await visible_tenant(request, who)
    c = ctx(request)
    state = c.hub.state(config.tenant_id)
    return web.json_response(queue_views(config, state, c.hub.voice_now(config.tenant_id), who))


async def queue_live(request: web.Request) -> web.Response:
    who = await api_user(request)
    config = await visible_tenant(request, who)
    queue = request.match_info["queue"]
    visible_queue(config, who, queue)
    c = ctx(request)
    state = c.hub.state(config.tenant_id)
    return web.json_response(live_view(config, state, c.hub.voice_now(config.tenant_id), who, queue))


async def agents(request: web.Request) -> web.Response:
    who = await api_user(request)
    config = await visible_tenant(request, who)
    c = ctx(request)
    state = c.hub.state(config.tenant_id)
    return web.json_response(agent_views(config, state, c.hub.voice_now(config.tenant_id), who))


async def summary(request: web.Request) -> web.Response:
    who = await api_user(request)
    config = await visible_tenant(request, who)
    c = ctx(request)
    return web.json_response(await c.figures.get(config, c.clock(), own_agent(who)))


async def _contact_answer(
    request: web.Request, answer: Callable[[TenantConfig, str], Awaitable[dict[str, Any]]]
) -> web.Response:
    """A contact's data for any user of the tenant; 404 for nobody matching, 400 for a bad reference/filter."""
    who = await api_user(request)
    config = await visible_tenant(request, who)
    try:
        return web.json_response(await answer(config, request.match_info["contact"]))
    except ContactNotFound as exc:
        raise json_error(404, str(exc)) from None
    except JourneyError as exc:
        raise json_error(400, str(exc)) from None


async def journey(request: web.Request) -> web.Response:
    """A contact's timeline (id, phone in any format or e-mail), filtered by ?channel=&from=&to=."""
    store, query = ctx(request).store, request.query
    return await _contact_answer(
        request,
        lambda config, contact: journey_json(
            store, config, contact, query.getall("channel", []), query.get("from"), query.get("to")
        ),
    )


async def screen_pop(request: web.Request) -> web.Response:
    """The journey summary an agent sees when the contact's call or ticket is offered."""
    store = ctx(request).store
    return await _contact_answer(request, lambda config, contact: screen_pop_json(store, config, contact))


async def stream(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: ``live`` on every change of the tenant's snapshot, ``summary`` now and then."""
    who = await api_user(request)
    config = await visible_tenant(request, who)
    queue = request.query.get("queue") or None
    if queue is not None:
        visible_queue(config, who, queue)
    agent = own_agent(who) if not who.sees_whole_tenant else None
    c = ctx(request)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await response.prepare(request)

    async def send(event: str, payload: Any) -> None:
        await response.write(f"event: {event}\ndata: {json.dumps(payload)}\n\n".encode())

    tenant_id = config.tenant_id
    state = c.hub.state(tenant_id)
    loop = asyncio.get_running_loop()
    checked = loop.time()
    try:
        while not c.hub.closing:
            await send("live", live_view(config, state, c.hub.voice_now(tenant_id), who, queue))
            await send("summary", await c.figures.get(config, c.clock(), agent))
            state = await c.hub.wait_change(tenant_id, state.version, HEARTBEAT_S)
            if c.hub.closing:
                break  # the server stops: end the response cleanly (the browser's EventSource reconnects)
            if loop.time() - checked >= HEARTBEAT_S:  # still logged in? (and the configuration may have changed)
                checked = loop.time()
                if await auth.principal_of(c.store, request.cookies.get(auth.SESSION_COOKIE), c.clock()) is None:
                    break
                config = await data.tenant_config(c.store, config.name) or config
    except ConnectionResetError:
        pass  # the browser went away
    return response


# -- operations ----------------------------------------------------------------------------------------


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


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in ("wallboard.js", "wallboard.css"):
        raise web.HTTPNotFound()
    return web.FileResponse(HERE / "static" / name)


# -- the application -----------------------------------------------------------------------------------


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
    store: Store, settings: WebSettings, *, clock: Callable[[], datetime] = utcnow, recordings: Repository | None = None
) -> web.Application:
    secret = settings.secret.get_secret_value().encode() if settings.secret else secrets.token_bytes(32)
    pages = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    app = web.Application(middlewares=[headers])
    hub = LiveHub(store, clock, settings.poll_interval)
    app[CONTEXT] = Context(store, settings, hub, data.FiguresCache(store), secret, clock, pages)
    app[METRICS] = metrics.Exporter()

    async def lifecycle(_: web.Application) -> Any:
        await hub.start()
        yield
        await hub.stop()

    async def end_streams(_: web.Application) -> None:
        await hub.end_streams()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(end_streams)  # before the server waits for running handlers (aiohttp's order)
    r = app.router
    r.add_get("/", home)
    r.add_get("/login", login_form)
    r.add_post("/login", login)
    r.add_post("/logout", logout)
    r.add_get("/wallboard/{tenant}", wallboard)
    r.add_get("/wallboard/{tenant}/{queue}", wallboard)
    r.add_get("/static/{name}", static)
    r.add_get("/api/me", me)
    r.add_get("/api/tenants", tenants)
    r.add_get("/api/tenants/{tenant}/queues", queues)
    r.add_get("/api/tenants/{tenant}/queues/{queue}/live", queue_live)
    r.add_get("/api/tenants/{tenant}/agents", agents)
    r.add_get("/api/tenants/{tenant}/summary", summary)
    r.add_get("/api/tenants/{tenant}/stream", stream)
    r.add_get("/api/tenants/{tenant}/contacts/{contact}/journey", journey)
    r.add_get("/api/tenants/{tenant}/contacts/{contact}/pop", screen_pop)
    r.add_post("/api/tenants/{tenant}/agents/{agent}/listen", listen.request_listen)
    from tvoxcc.web.contacts import add_contact_routes  # here: it imports this module's checks

    add_contact_routes(r)
    r.add_get("/metrics", prometheus)
    r.add_get("/healthz", healthz)
    if recordings is not None:
        from tvoxcc.web import recordings as recording_routes  # it uses this module's helpers: imported here

        recording_routes.add_routes(app, recordings)
    return app
