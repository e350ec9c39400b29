"""The address book's changes with their audit rows: the one path of `tvoxcc contact add|set|remove|import` and
of the web API's contact routes, so a change made either way leaves the same row.

Each function works on a tenant-scoped session (``Store.tenant(id)``) and writes its row (``contact.add``,
``.change``, ``.remove``, ``.import``) in the change's own transaction; the caller commits both, or rolls both
back (an import's dry run). A row names who, the contact ids and the names of the fields changed — never a name,
number, address or note.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc import audit
from tvoxcc.journey import book, book_store
from tvoxcc.journey.rows import ContactRow
from tvoxcc.journey.store import tenant_country


@dataclass(frozen=True, slots=True)
class Editor:
    """Who changes the address book of which tenant (by name, as audit rows name tenants)."""

    actor: str
    tenant: str

    async def log(self, session: AsyncSession, action: audit.AuditAction, subject: str, detail: dict[str, Any]) -> None:
        await audit.record(session, actor=self.actor, action=action, tenant=self.tenant, subject=subject, detail=detail)


def changed_fields(changes: book.ContactChanges) -> list[str]:
    """The names of the fields a change sets (their values may be personal data: not logged)."""
    return [f.name for f in dataclasses.fields(changes) if getattr(changes, f.name) not in (None, ())]


async def add(
    session: AsyncSession,
    editor: Editor,
    *,
    name: str,
    phones: Iterable[str],
    emails: Iterable[str],
    company: str,
    language: str | None,
    vip: bool,
    notes: str,
) -> ContactRow:
    """Check and add one contact; BookError naming every problem (its phones and e-mails taken included)."""
    fields, problems = book.check_new(
        name=name, phones=tuple(phones), emails=tuple(emails), company=company, language=language, vip=vip,
        notes=notes, country=await tenant_country(session),
    )  # fmt: skip
    if fields is None:
        raise book.BookError(*problems)
    added = await book_store.add_contact(session, fields)
    await editor.log(session, audit.AuditAction.CONTACT_ADD, f"added contact {added.id}", {"id": added.id})
    return added


async def change(session: AsyncSession, editor: Editor, ref: str, changes: book.ContactChanges) -> ContactRow:
    """Check and apply ``changes`` to the contact ``ref`` names (an id, a phone in any format, an e-mail)."""
    checked = book.check_changes(changes, await tenant_country(session))
    found = await book_store.find_contact(session, ref)
    changed = await book_store.update_contact(session, found.id, checked)
    detail = {"id": found.id, "fields": changed_fields(changes)}
    await editor.log(session, audit.AuditAction.CONTACT_CHANGE, f"changed contact {found.id}", detail)
    return changed


async def remove(session: AsyncSession, editor: Editor, ref: str) -> dict[str, int]:
    """Delete the contact ``ref`` names; its history stays, as an unknown person's. Its id and what was unlinked."""
    found = await book_store.find_contact(session, ref)
    removed = {"id": found.id, **await book_store.remove_contact(session, found.id)}
    await editor.log(session, audit.AuditAction.CONTACT_REMOVE, f"removed contact {found.id}", removed)
    return removed


async def import_csv(session: AsyncSession, editor: Editor, text: str, source: str) -> list[int]:
    """Every contact of a CSV file, or none (BookError listing each bad row as ``source:line: what``)."""
    read = book.read_csv(text, source, await tenant_country(session))
    ids = await book_store.import_contacts(session, read, source)
    await editor.log(session, audit.AuditAction.CONTACT_IMPORT, f"imported {len(ids)} contacts", {"ids": ids})
    return ids
