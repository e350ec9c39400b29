"""Tickets on the agent desktop: the agent's queue, a thread with its Knowledge Base suggestions, reply, note,
status — through the same functions as `tvoxcc support` (tvoxcc.support.desk, tvoxcc.kb.store), so a ticket
answered in the browser is queued in the outbox, threaded and counted exactly as from the CLI.

JSON routes for a user linked to an agent (the desktop's user); the POSTs are same-origin only. The author of
a reply or note is the agent's name, as `support reply --agent NAME` writes it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.kb import store as kb
from tvoxcc.kb.article import KbError
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.store import models as m
from tvoxcc.support import desk
from tvoxcc.support.status import TicketStatus
from tvoxcc.support.tickets import TicketError
from tvoxcc.web import data
from tvoxcc.web.context import api_user, checked_post, ctx, json_error
from tvoxcc.web.views import TenantConfig

TEMPLATES = web.AppKey("tvoxcc.mail_templates", MailTemplates)  # set by build_app (`web run`: the data_dir's)
MAX_TEXT = 20_000  # characters of a reply or note from the browser
T = TypeVar("T")


class Agent:
    def __init__(self, config: TenantConfig, name: str, tenant_display: str) -> None:
        self.config, self.name, self.tenant_display = config, name, tenant_display


async def _agent(request: web.Request) -> Agent:
    who = await api_user(request)
    if who.agent is None or who.tenant is None:
        raise json_error(403, "tickets on the desktop are for a user linked to an agent")
    c = ctx(request)
    config = await data.tenant_config(c.store, who.tenant)
    if config is None:
        raise json_error(404, "no such tenant")
    async with c.store.session() as session:
        tenant = await session.get(m.Tenant, config.tenant_id)
    display = (tenant.display_name if tenant else None) or config.name
    return Agent(config, who.agent, display)


def _number(request: web.Request) -> int:
    text = request.match_info["number"].upper().removeprefix("T-")
    if not text.isdigit():
        raise json_error(400, f"ticket number: T-NNNN or NNNN, not {request.match_info['number']!r}")
    return int(text)


async def _in_tenant(
    request: web.Request, agent: Agent, action: Callable[[AsyncSession], Awaitable[T]], *, commit: bool = False
) -> T:
    """``action`` in a session of the agent's tenant; a ticket or KB refusal is a 400/404 with its one line."""
    async with ctx(request).store.tenant(agent.config.tenant_id) as session:
        try:
            result = await action(session)
        except (TicketError, KbError) as exc:
            status = 404 if str(exc).startswith(("no ticket", "no article")) else 400
            raise json_error(status, str(exc)) from None
        if commit:
            await session.commit()
        return result


def _text(body: dict[str, str], what: str) -> str:
    text = body.get("body", "")
    if not text.strip():
        raise json_error(400, f"empty {what}")
    if len(text) > MAX_TEXT:
        raise json_error(400, f"{what}: at most {MAX_TEXT} characters")
    return text


async def list_tickets(request: web.Request) -> web.Response:
    """What waits for the agent: their tickets and the unassigned ones of their queues (`support queue --agent`)."""
    agent = await _agent(request)
    now = ctx(request).clock()
    rows = await _in_tenant(request, agent, lambda s: desk.queue_rows(s, include_all=False, now=now, agent=agent.name))
    return web.json_response(rows)


async def show_ticket(request: web.Request) -> web.Response:
    """The thread (`support show --json`) with the suggested articles, each with its text for the reply."""
    agent, number, now = await _agent(request), _number(request), ctx(request).clock()

    async def go(session: AsyncSession) -> dict[str, Any]:
        thread = await desk.thread_of(session, number, now=now)
        hits = (await kb.suggest(session, number))[1]
        articles = [await kb.article_by_slug(session, h.slug) for h in hits]
        thread["suggested_articles"] = [
            {"slug": a.slug, "title": a.title, "visibility": a.visibility, "body": a.body} for a in articles
        ]
        return thread

    return web.json_response(await _in_tenant(request, agent, go))


async def reply(request: web.Request) -> web.Response:
    body = await checked_post(request)
    agent, number, now = await _agent(request), _number(request), ctx(request).clock()
    text, templates = _text(body, "reply"), request.app[TEMPLATES]

    async def go(session: AsyncSession) -> str:
        row = await desk.reply(
            session,
            number,
            text,
            tenant_name=agent.config.name,
            tenant_display=agent.tenant_display,
            agent=agent.name,
            now=now,
            templates=templates,
        )
        return row.to_address

    to = await _in_tenant(request, agent, go, commit=True)
    return web.json_response({"ticket": f"T-{number}", "to": to})


async def note(request: web.Request) -> web.Response:
    body = await checked_post(request)
    agent, number, now = await _agent(request), _number(request), ctx(request).clock()
    text = _text(body, "note")
    await _in_tenant(request, agent, lambda s: desk.note(s, number, text, agent=agent.name, now=now), commit=True)
    return web.json_response({"ticket": f"T-{number}"})


async def set_status(request: web.Request) -> web.Response:
    body = await checked_post(request)
    agent, number, now = await _agent(request), _number(request), ctx(request).clock()
    wanted = body.get("status", "")
    if wanted not in {s.value for s in TicketStatus}:
        raise json_error(400, f"status: one of {', '.join(s.value for s in TicketStatus)}")
    notify = desk.Notifier(agent.config.name, agent.tenant_display, request.app[TEMPLATES])

    async def go(session: AsyncSession) -> str:
        return await desk.set_status(session, number, wanted, now=now, notify=notify)

    previous = await _in_tenant(request, agent, go, commit=True)
    return web.json_response({"ticket": f"T-{number}", "previous": previous, "status": wanted})


def add_routes(r: web.UrlDispatcher) -> None:
    r.add_get("/api/agent/tickets", list_tickets)
    r.add_get("/api/agent/tickets/{number}", show_ticket)
    r.add_post("/api/agent/tickets/{number}/reply", reply)
    r.add_post("/api/agent/tickets/{number}/note", note)
    r.add_post("/api/agent/tickets/{number}/status", set_status)
