"""One change to one tenant: read its document, change it, check it, write it back, all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc import audit
from tvoxcc.admin.changes import KEYS, audit_document_change
from tvoxcc.admin.document_writer import write_document
from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.repository import read_document
from tvoxcc.admin.spec import TenantDoc
from tvoxcc.store.engine import Store

T = TypeVar("T")


def validation_problems(error: ValidationError, prefix: str = "") -> list[str]:
    """pydantic errors as ``path: why`` lines, the path as it stands in the YAML file."""
    lines = []
    for item in error.errors():
        path = prefix
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{path or '(document)'}: {message}")
    return lines


async def edit_tenant(store: Store, tenant: str, change: Callable[[TenantDoc], T], *, actor: str | None = None) -> T:
    """Apply ``change`` (which mutates the document, raising AdminError when it cannot) atomically, with its
    audit row in the same transaction. ``actor``: who asked (default: the person at the command line)."""
    async with store.session() as session:
        doc = await read_document(session, tenant)
        before = doc.model_copy(deep=True)
        try:
            result = change(doc)
        except ValidationError as exc:
            raise AdminError(*validation_problems(exc)) from exc
        await _write(session, before, doc, actor or audit.cli_actor())
        return result


async def _write(session: AsyncSession, before: TenantDoc, doc: TenantDoc, actor: str) -> None:
    try:
        await write_document(session, doc, prune=True)
        await audit_document_change(session, before, doc, actor=actor)
    except BaseException:
        await session.rollback()
        raise
    await session.commit()


def merge_documents(stored: TenantDoc, incoming: TenantDoc) -> TenantDoc:
    """The stored tenant with the file's items added or replacing those with the same key."""
    merged = stored.model_copy(deep=True)
    merged.tenant = incoming.tenant
    merged.outbound = incoming.outbound or merged.outbound
    for section, key in KEYS.items():
        items = {key(item): item for item in getattr(merged, section)}
        for item in getattr(incoming, section):
            items[key(item)] = item
        setattr(merged, section, list(items.values()))
    return merged


async def import_document(store: Store, doc: TenantDoc, *, dry_run: bool = False, actor: str | None = None) -> None:
    """Upsert a tenant: what the file has is added or replaced, what it leaves out is kept.

    The file may refer to what is already stored (a queue file naming a stored service): references
    are checked on the merged tenant. All or nothing.
    """
    async with store.session() as session:
        try:
            try:
                stored = await read_document(session, doc.tenant.name)
            except AdminError:
                stored = None  # a new tenant
            merged = merge_documents(stored, doc) if stored else doc
            await write_document(session, merged, prune=False)
            await audit_document_change(
                session, stored, merged, actor=actor or audit.cli_actor(), action=audit.AuditAction.TENANT_IMPORT
            )
        except BaseException:
            await session.rollback()
            raise
        if dry_run:
            await session.rollback()
        else:
            await session.commit()
