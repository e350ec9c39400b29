"""Recordings in the web app: a page that lists and plays them, the JSON list, the audio (play or download).

Who sees what (tvoxcc.web.access): an admin every tenant's, a supervisor their tenant's (one scoped to groups
only those groups' agents'), an agent only the calls they took; anyone else nothing. Another tenant, or another
agent's recording, is a 404 like one that does not exist. Every play and download is audited.

The audio answers a single byte range (``Range: bytes=a-b``, ``a-``, ``-n``: what a browser sends to seek) with
206 and its Content-Range, an unsatisfiable or malformed one with 416 (aiohttp's ``FileResponse`` rule); an
encrypted recording is decrypted in memory and sliced, never written in clear. Each request is audited, its
range in the row's detail.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tvoxcc import audit
from tvoxcc.audit.actors import web_actor
from tvoxcc.moments import parse_moment
from tvoxcc.recordings import access
from tvoxcc.recordings.crypto import RecordingKeyError
from tvoxcc.recordings.query import RecordingFilter, find
from tvoxcc.recordings.repository import ChecksumMismatch, Repository
from tvoxcc.web import context as base
from tvoxcc.web.access import Principal

log = logging.getLogger(__name__)
REPOSITORY = web.AppKey("tvoxcc.recordings", Repository)
LIMIT = 500
ZERO_SUFFIX = re.compile(r"bytes\s*=\s*-0+", re.IGNORECASE)


def _whose(who: Principal) -> frozenset[str] | None:
    """None: the whole tenant; else the only agents whose recordings this user may have (their own, or the
    agents of a scoped supervisor's groups)."""
    if not who.sees_whole_tenant and who.agent is None:
        raise base.json_error(403, "no agent is linked to this user")
    return who.visible_agents


def _filter(request: web.Request, who: Principal) -> RecordingFilter:
    query = request.query
    now = base.ctx(request).clock()
    try:
        since = parse_moment(query["since"], now) if "since" in query else None
        until = parse_moment(query["until"], now) if "until" in query else None
        min_duration = float(query["min_duration"]) if "min_duration" in query else None
    except ValueError as exc:
        raise base.json_error(400, str(exc)) from None
    return RecordingFilter(
        since=since,
        until=until,
        queue=query.get("queue"),
        agent=query.get("agent") if who.sees_whole_tenant else None,  # an agent's list is theirs, whatever asked
        agents=_whose(who),
        number=query.get("number"),
        min_duration_s=min_duration,
        limit=LIMIT,
    )


async def _rows(request: web.Request, who: Principal) -> tuple[str, list[dict[str, Any]]]:
    config = await base.visible_tenant(request, who)
    spec = _filter(request, who)
    async with base.ctx(request).store.tenant(config.tenant_id) as session:
        return config.name, await find(session, config.tenant_id, spec)


async def list_json(request: web.Request) -> web.Response:
    who = await base.api_user(request)
    _tenant, rows = await _rows(request, who)
    return web.json_response({"recordings": rows})


def byte_range(asked: slice, size: int) -> tuple[int, int] | None:
    """[start, end) of ``size`` bytes that a parsed Range header (``request.http_range``: ``slice(a, b + 1)``,
    ``slice(a, None)``, ``slice(-n, None)``) asks for; None when it is unsatisfiable (RFC 9110 14.1.2)."""
    start, end = asked.start, asked.stop
    if start is None:
        return 0, size
    if start < 0:  # the last -start bytes (a suffix range)
        return (max(0, size + start), size) if size > 0 else None
    if start >= size:
        return None
    return start, size if end is None else min(end, size)


def _ranged(request: web.Request) -> slice | None:
    """The byte range asked for; None: the whole file. HTTPRequestRangeNotSatisfiable when malformed (a multi-part
    range included: one range is what players ask for)."""
    if "Range" not in request.headers:
        return None
    if ZERO_SUFFIX.fullmatch(request.headers["Range"].strip()):
        # "the last 0 bytes" is unsatisfiable (RFC 9110 14.1.1); aiohttp reads -0 as 0, i.e. the whole file
        raise web.HTTPRequestRangeNotSatisfiable()
    try:
        return request.http_range
    except ValueError:
        raise web.HTTPRequestRangeNotSatisfiable() from None


async def audio(request: web.Request) -> web.StreamResponse:
    who = await base.api_user(request)
    config = await base.visible_tenant(request, who)
    download = request.query.get("download") == "1"
    try:
        recording_id = int(request.match_info["recording"])
    except ValueError:
        raise base.json_error(404, "no such recording") from None
    asked = _ranged(request)
    try:
        row, data = await access.read_audio(
            base.ctx(request).store,
            request.app[REPOSITORY],
            config.name,
            recording_id,
            actor=web_actor(who.username),
            action=audit.AuditAction.RECORDING_DOWNLOAD if download else audit.AuditAction.RECORDING_PLAY,
            only_agents=_whose(who),
            detail={"range": request.headers["Range"][:100]} if asked is not None else None,
        )
    except LookupError:
        raise base.json_error(404, "no such recording") from None
    except (RecordingKeyError, ChecksumMismatch, FileNotFoundError) as exc:
        log.error("web: recording %d of %s cannot be read: %s", recording_id, config.name, exc)
        raise web.HTTPInternalServerError(text=f"recording {recording_id} cannot be read") from exc
    response = _part(data, asked, row.format)
    disposition = "attachment" if download else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="recording-{row.id}.{row.format}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _part(data: bytes, asked: slice | None, audio_format: str) -> web.Response:
    """The whole audio (200), the part asked for (206), or 416 naming the size."""
    size = len(data)
    part = (0, size) if asked is None else byte_range(asked, size)
    if part is None:
        raise web.HTTPRequestRangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
    start, end = part
    response = web.Response(body=data[start:end], content_type=f"audio/{audio_format}")
    response.headers["Accept-Ranges"] = "bytes"
    if asked is not None:
        response.set_status(206)
        response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    return response


async def page(request: web.Request) -> web.StreamResponse:
    who = await base.page_user(request)
    c = base.ctx(request)
    try:
        tenant, rows = await _rows(request, who)
    except web.HTTPException as exc:
        html = c.pages.get_template("error.html").render(status=exc.status, reason=exc.reason)
        return web.Response(text=html, content_type="text/html", status=exc.status)
    for row in rows:
        row["started"] = datetime.fromisoformat(row["started_at"]).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    html = c.pages.get_template("recordings.html").render(tenant=tenant, rows=rows, user=who)
    return web.Response(text=html, content_type="text/html")


def add_routes(app: web.Application, repository: Repository) -> None:
    app[REPOSITORY] = repository
    r = app.router
    r.add_get("/recordings/{tenant}", page)
    r.add_get("/api/tenants/{tenant}/recordings", list_json)
    r.add_get("/api/tenants/{tenant}/recordings/{recording}/audio", audio)
