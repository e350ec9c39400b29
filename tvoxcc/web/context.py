"""What every route module shares: the app's context, who is asking, the tenant/queue checks, checked POSTs.

Every tenant route goes through ``api_user`` (401 without a session) and ``visible_tenant`` (404 for a
tenant that does not exist or that the user may not see), then filters by role (tvoxcc.web.access).
A new route gets the same checks by calling those two first in its handler (see tvoxcc.web.api).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import jinja2
from aiohttp import web
from sqlalchemy import select

from tvoxcc.config import WebSettings
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.web import auth, data, metrics
from tvoxcc.web.access import Principal
from tvoxcc.web.chat_hub import ChatHub
from tvoxcc.web.live import LiveHub
from tvoxcc.web.views import TenantConfig

HERE = Path(__file__).parent
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
    chats: ChatHub


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
        409: web.HTTPConflict,
        429: web.HTTPTooManyRequests,
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


async def agent_of(c: Context, who: Principal, refusal: str) -> tuple[TenantConfig, int]:
    """The user's tenant and agent row, for the desktop's requests that act on the user's own phone, calls or
    chats; ``refusal`` (403) for a user linked to no agent."""
    if who.agent is None or who.tenant is None:
        raise json_error(403, refusal)
    config = await data.tenant_config(c.store, who.tenant)
    if config is None:
        raise json_error(404, "no such tenant")
    async with c.store.tenant(config.tenant_id) as session:
        agent = await session.scalar(select(m.Agent.id).where(m.Agent.name == who.agent))
    if agent is None:
        raise json_error(403, refusal)
    return config, agent


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


# -- POSTs ---------------------------------------------------------------------------------------------


def is_json(request: web.Request) -> bool:
    return request.content_type == "application/json"


async def checked_post(request: web.Request) -> dict[str, str]:
    """A POST's fields, once it passed the CSRF checks."""
    if not auth.same_origin(request):
        raise json_error(403, "cross-origin request refused")
    if is_json(request):
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


def html_page(request: web.Request, template: str, *, status: int = 200, **values: object) -> web.Response:
    """A page with a fresh CSRF pair (its token in the page, its nonce in a cookie) for the page's POSTs."""
    c = ctx(request)
    nonce, token = auth.csrf_pair(c.secret)
    html = c.pages.get_template(template).render(csrf=token, **values)
    response = web.Response(text=html, content_type="text/html", status=status)
    response.set_cookie(auth.CSRF_COOKIE, nonce, httponly=True, samesite="Strict", secure=c.settings.secure_cookies)
    return response
