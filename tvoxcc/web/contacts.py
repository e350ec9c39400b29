"""The address book in the web API: the CLI's `tvoxcc contact` verbs, with role checks.

Every user of a tenant reads its contacts (an agent needs them on a call); an admin, or a supervisor of
the tenant, adds, changes, imports and removes them (403 for the others). A supervisor scoped to groups reads,
changes and removes only the contacts their groups dealt with (tvoxcc.journey.scope; another is a 404, as if it
did not exist) and adds or imports none (403: a new contact is no group's yet). Another tenant is a 404, as on
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
from tvoxcc.journey.rows import ContactRow
from tvoxcc.journey.scope import GroupScope, sees_contact, visible_contacts
from tvoxcc.web import auth
from tvoxcc.web.access import Principal
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
    """Whose request on which tenant: the tenant's id for its session, the editor its audit rows name, and the
    groups of a supervisor scoped to groups (None: every contact of the tenant)."""

    tenant_id: int
    editor: Editor
    scope: GroupScope | None = None


def group_scope(who: Principal) -> GroupScope | None:
    """A supervisor scoped to groups sees only the contacts of their groups (tvoxcc.journey.scope)."""
    if not who.sees_whole_tenant or who.scope is None:
        return None
    return GroupScope(who.scope, who.scope_queues or frozenset())


async def _allowed(request: web.Request, *, write: bool, new: bool = False) -> Caller:
    """The tenant, once the user may read its contacts, or ``write`` them (``new`` ones: add, import)."""
    who = await api_user(request)
    config = await visible_tenant(request, who)
    scope = group_scope(who)
    if write:
        if not who.sees_whole_tenant:
            raise json_error(403, "only an admin or a supervisor of the tenant may change contacts")
        if new and scope is not None:
            raise json_error(403, "a supervisor scoped to groups changes their groups' contacts only: not new ones")
        if not auth.same_origin(request):
            raise json_error(403, "cross-origin request refused")
    return Caller(config.tenant_id, Editor(web_actor(who.username), config.name), scope)


async def _in_scope(session: AsyncSession, caller: Caller, ref: str) -> None:
    """A contact out of the caller's groups is answered as one that does not exist (404)."""
    if caller.scope is not None:
        found = await book_store.find_contact(session, ref)
        if not await sees_contact(session, caller.scope, found.id):
            raise ContactNotFound(f"no contact {ref.strip()[:60]!r}")


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
    caller = await _allowed(request, write=False)

    async def listed(session: AsyncSession) -> list[ContactRow]:
        contacts = await book_store.list_contacts(session)
        if caller.scope is None:
            return contacts
        seen = await visible_contacts(session, caller.scope)
        return [c for c in contacts if c.id in seen]

    contacts = await _in_tenant(request, caller.tenant_id, listed)
    return web.json_response([book.contact_json(c) for c in contacts])


async def show_contact(request: web.Request) -> web.Response:
    caller, ref = await _allowed(request, write=False), request.match_info["contact"]

    async def shown(session: AsyncSession) -> ContactRow:
        await _in_scope(session, caller, ref)
        return await book_store.find_contact(session, ref)

    found = await _in_tenant(request, caller.tenant_id, shown)
    return web.json_response(book.contact_json(found))


async def add_contact(request: web.Request) -> web.Response:
    caller = await _allowed(request, write=True, new=True)
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

    async def change(session: AsyncSession) -> ContactRow:
        await _in_scope(session, caller, ref)
        return await book_audited.change(session, caller.editor, ref, changes)

    changed = await _in_tenant(request, caller.tenant_id, change)
    return web.json_response(book.contact_json(changed))


async def remove_contact(request: web.Request) -> web.Response:
    caller, ref = await _allowed(request, write=True), request.match_info["contact"]

    async def remove(session: AsyncSession) -> dict[str, int]:
        await _in_scope(session, caller, ref)
        return await book_audited.remove(session, caller.editor, ref)

    removed = await _in_tenant(request, caller.tenant_id, remove)
    return web.json_response(removed)


async def import_contacts(request: web.Request) -> web.Response:
    caller = await _allowed(request, write=True, new=True)
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
