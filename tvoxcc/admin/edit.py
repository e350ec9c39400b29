"""One change to one tenant: read its document, change it, check it, write it back, all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.repository import read_document, write_document
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


async def edit_tenant(store: Store, tenant: str, change: Callable[[TenantDoc], T]) -> T:
    """Apply ``change`` (which mutates the document, raising AdminError when it cannot) atomically."""
    async with store.session() as session:
        doc = await read_document(session, tenant)
        try:
            result = change(doc)
        except ValidationError as exc:
            raise AdminError(*validation_problems(exc)) from exc
        await _write(session, doc)
        return result


async def _write(session: AsyncSession, doc: TenantDoc) -> None:
    try:
        await write_document(session, doc, prune=True)
    except BaseException:
        await session.rollback()
        raise
    await session.commit()


async def import_document(store: Store, doc: TenantDoc) -> None:
    """Upsert a whole tenant; nothing the file leaves out is removed."""
    async with store.session() as session:
        try:
            await write_document(session, doc, prune=False)
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
