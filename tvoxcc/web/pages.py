"""The HTML pages (home, wallboard) and their static files."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from tvoxcc.web import data
from tvoxcc.web.context import HERE, ctx, html_page, page_user, visible_queue, visible_tenant

STATIC = frozenset({"wallboard.js", "wallboard.css"})


def error_page(request: web.Request, exc: web.HTTPException) -> web.Response:
    html = ctx(request).pages.get_template("error.html").render(status=exc.status, reason=exc.reason)
    return web.Response(text=html, content_type="text/html", status=exc.status)


async def home(request: web.Request) -> web.StreamResponse:
    who = await page_user(request)
    if who.tenant is not None:
        raise web.HTTPFound(f"/wallboard/{quote(who.tenant)}")
    tenants = await data.tenant_names(ctx(request).store)
    html = ctx(request).pages.get_template("home.html").render(tenants=list(tenants), user=who)
    return web.Response(text=html, content_type="text/html")


async def wallboard(request: web.Request) -> web.StreamResponse:
    who = await page_user(request)
    try:
        config = await visible_tenant(request, who)
        queue = request.match_info.get("queue")
        if queue is not None:
            visible_queue(config, who, queue)
    except web.HTTPException as exc:
        return error_page(request, exc)
    return html_page(request, "wallboard.html", tenant=config.name, queue=queue, user=who)


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in STATIC:
        raise web.HTTPNotFound()
    return web.FileResponse(HERE / "static" / name)


def add_routes(r: web.UrlDispatcher) -> None:
    r.add_get("/", home)
    r.add_get("/wallboard/{tenant}", wallboard)
    r.add_get("/wallboard/{tenant}/{queue}", wallboard)
    r.add_get("/static/{name}", static)
