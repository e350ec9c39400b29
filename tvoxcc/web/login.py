"""Logging in and out: the form, the session cookie, JSON logins for scripts."""

from __future__ import annotations

import logging

from aiohttp import web

from tvoxcc.web import auth
from tvoxcc.web.context import checked_post, ctx, current_user, html_page, is_json, json_error

log = logging.getLogger("tvoxcc.web.app")


def safe_next(target: str | None) -> str:
    # Only a path on this site: never "//host" or "http://…" (an open redirect).
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    return html_page(request, "login.html", status=status, error=error, next=safe_next(request.query.get("next")))


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


async def login_form(request: web.Request) -> web.StreamResponse:
    if await current_user(request) is not None:
        raise web.HTTPFound(safe_next(request.query.get("next")))
    return _login_page(request)


async def login(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    fields = await checked_post(request)
    username, password = fields.get("username", ""), fields.get("password", "")
    user_id = (
        await auth.check_password(c.store, username, password, remote=request.remote) if username and password else None
    )
    if user_id is None:
        log.info("web: failed login for user %r from %s", username[:64], request.remote)
        if is_json(request):
            raise json_error(401, "invalid username or password")
        return _login_page(request, "Invalid username or password.", status=401)
    token = await auth.open_session(c.store, user_id, c.clock(), c.settings.session_hours)
    who = await auth.principal_of(c.store, token, c.clock())
    assert who is not None
    log.info("web: %s logged in (%s)", who.username, who.role)
    response: web.StreamResponse
    if is_json(request):
        response = web.json_response({"user": who.as_json()})
    else:
        response = see_other(safe_next(fields.get("next")))
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
    await checked_post(request)
    token = request.cookies.get(auth.SESSION_COOKIE)
    if token:
        await auth.close_session(ctx(request).store, token)
    response: web.StreamResponse = web.Response(status=204) if is_json(request) else see_other("/login")
    response.del_cookie(auth.SESSION_COOKIE)
    return response


def add_routes(r: web.UrlDispatcher) -> None:
    r.add_get("/login", login_form)
    r.add_post("/login", login)
    r.add_post("/logout", logout)
