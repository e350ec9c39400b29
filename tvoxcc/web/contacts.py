"""The address book in the web API: the CLI's `tvoxcc contact` verbs, with role checks.

Every user of a tenant reads its contacts (an agent needs them on a call); an admin, or a supervisor of
the tenant, adds, changes, imports and removes them (403 for the others). Another tenant is a 404, as on
every route. Bodies are JSON (an import: the CSV file itself, ``Content-Type: text/csv``); a refused
change is 400 with ``error`` (the first problem) and ``problems`` (all of them, one line each). Every change
is in the audit log (``contact.add``, ``.change``, ``.remove``, ``.import``) through ``journey.book_audited``,
the CLI's path too: who, the contact ids and the names of the fields changed — never a name, number or note::

    GET    /api/tenants/{tenant}/contacts            the list
    POST   /api/tenants/{tenant}/contacts            {"name", "phones", "emails", "company", "language", "vip", "notes"}
    POST   /api/tenants/{tenant}/contacts/import     a CSV file: all of it or nothing
    GET    /api/tenants/{tenant}/contacts/{contact}  one contact (an id, a phone in any format, an e-mail)
    PATCH  /api/tenants/{tenant}/contacts/{contact}  {"name", …, "vip", "add_phones", "drop_phones", "add_emails", …}
    DELETE /api/tenants/{tenant}/contacts/{contact}  its history stays, as an unknown person's
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.admin.errors import AdminError
from tvoxcc.audit.actors import web_actor
from tvoxcc.journey import book, book_audited, book_store
from tvoxcc.journey.book_audited import Editor
from tvoxcc.journey.contacts import ContactNotFound
from tvoxcc.web import auth
from tvoxcc.web.context import api_user, ctx, json_error, visible_tenant

T = TypeVar("T")
MAX_CSV = 10 * 1024 * 1024  # bytes of one import
TEXTS = ("name", "company", "language", "notes")
LISTS = ("add_phones", "drop_phones", "add_emails", "drop_emails")


def _refused(exc: AdminError) -> web.HTTPException:
    body = json.dumps({"error": exc.problems[0] if exc.problems else str(exc), "problems": exc.problems})
    return web.HTTPBadRequest(text=body, content_type="application/json")


@dataclass(frozen=True, slots=True)
class Caller:
    """Whose request on which tenant: the tenant's id for its session, the editor its audit rows name."""

    tenant_id: int
    editor: Editor


async def _allowed(request: web.Request, *, write: bool) -> Caller:
    """The tenant, once the user may read its contacts, or ``write`` them."""
    who = await api_user(request)
    config = await visible_tenant(request, who)
    if write:
        if not who.sees_whole_tenant:
            raise json_error(403, "only an admin or a supervisor of the tenant may change contacts")
        if not auth.same_origin(request):
            raise json_error(403, "cross-origin request refused")
    return Caller(config.tenant_id, Editor(web_actor(who.username), config.name))


async def _in_tenant(request: web.Request, tenant_id: int, action: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``action`` on the tenant's session and commit; a refusal is 404 or 400 with every problem."""
    try:
        async with ctx(request).store.tenant(tenant_id) as session:
            result = await action(session)
            await session.commit()
            return result
    except ContactNotFound as exc:
        raise json_error(404, str(exc)) from None
    except AdminError as exc:
        raise _refused(exc) from None


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise json_error(400, "send the contact as JSON (Content-Type: application/json)")
    try:
        body = await request.json()
    except ValueError:
        raise json_error(400, "body is not JSON") from None
    if not isinstance(body, dict):
        raise json_error(400, "body must be a JSON object")
    return body


def _strings(body: dict[str, Any], key: str) -> tuple[str, ...]:
    """A list of strings, or one string (``"phone": "+39…"`` as well as ``"phones": [...]``)."""
    value = body.get(key, ())
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise json_error(400, f"{key} must be a string or a list of strings")
    return tuple(values)


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise json_error(400, f"{key} must be a string")
    return value


def _vip(body: dict[str, Any]) -> bool | None:
    value = body.get("vip")
    if value is not None and not isinstance(value, bool):
        raise json_error(400, "vip must be true or false")
    return value


async def list_contacts(request: web.Request) -> web.Response:
    contacts = await _in_tenant(request, (await _allowed(request, write=False)).tenant_id, book_store.list_contacts)
    return web.json_response([book.contact_json(c) for c in contacts])


async def show_contact(request: web.Request) -> web.Response:
    tenant_id, ref = (await _allowed(request, write=False)).tenant_id, request.match_info["contact"]
    found = await _in_tenant(request, tenant_id, lambda session: book_store.find_contact(session, ref))
    return web.json_response(book.contact_json(found))


async def add_contact(request: web.Request) -> web.Response:
    caller = await _allowed(request, write=True)
    body = await _body(request)
    phones = _strings(body, "phones") + _strings(body, "phone")
    emails = _strings(body, "emails") + _strings(body, "email")
    texts = {key: _text(body, key) for key in TEXTS}

    vip = bool(_vip(body))

    def go(session: AsyncSession) -> Awaitable[Any]:
        return book_audited.add(
            session, caller.editor, name=texts["name"] or "", phones=phones, emails=emails,
            company=texts["company"] or "", language=texts["language"], vip=vip, notes=texts["notes"] or "",
        )  # fmt: skip

    added = await _in_tenant(request, caller.tenant_id, go)
    return web.json_response(book.contact_json(added), status=201)


async def change_contact(request: web.Request) -> web.Response:
    caller = await _allowed(request, write=True)
    body = await _body(request)
    unknown = sorted(set(body) - {*TEXTS, *LISTS, "vip"})
    if unknown:
        raise json_error(400, f"unknown field {unknown[0][:40]!r}")
    changes = book.ContactChanges(
        name=_text(body, "name"),
        company=_text(body, "company"),
        language=_text(body, "language"),
        notes=_text(body, "notes"),
        vip=_vip(body),
        add_phones=_strings(body, "add_phones"),
        drop_phones=_strings(body, "drop_phones"),
        add_emails=_strings(body, "add_emails"),
        drop_emails=_strings(body, "drop_emails"),
    )
    ref = request.match_info["contact"]

    changed = await _in_tenant(request, caller.tenant_id, lambda s: book_audited.change(s, caller.editor, ref, changes))
    return web.json_response(book.contact_json(changed))


async def remove_contact(request: web.Request) -> web.Response:
    caller, ref = await _allowed(request, write=True), request.match_info["contact"]

    removed = await _in_tenant(request, caller.tenant_id, lambda s: book_audited.remove(s, caller.editor, ref))
    return web.json_response(removed)


async def import_contacts(request: web.Request) -> web.Response:
    caller = await _allowed(request, write=True)
    if request.content_type != "text/csv":
        raise json_error(400, "send the CSV file itself (Content-Type: text/csv)")
    if (request.content_length or 0) > MAX_CSV:
        raise json_error(400, f"the file is larger than {MAX_CSV // 1024 // 1024} MB: split it")
    raw = await request.content.read(MAX_CSV + 1)
    if len(raw) > MAX_CSV:
        raise json_error(400, f"the file is larger than {MAX_CSV // 1024 // 1024} MB: split it")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise json_error(400, "the file is not UTF-8 text") from None

    ids = await _in_tenant(request, caller.tenant_id, lambda s: book_audited.import_csv(s, caller.editor, text, "csv"))
    return web.json_response({"added": len(ids)})


def add_contact_routes(router: web.UrlDispatcher) -> None:
    base = "/api/tenants/{tenant}/contacts"
    router.add_get(base, list_contacts)
    router.add_post(base, add_contact)
    router.add_post(base + "/import", import_contacts)
    router.add_get(base + "/{contact}", show_contact)
    router.add_patch(base + "/{contact}", change_contact)
    router.add_delete(base + "/{contact}", remove_contact)


add_routes = add_contact_routes  # the route-module protocol of tvoxcc.web.app
