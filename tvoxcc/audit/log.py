"""The audit log in the store: ``record`` (inside the caller's transaction), ``entries``, ``verify``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.audit.actions import AuditAction
from tvoxcc.audit.chain import GENESIS, ChainCheck, Link, canonical, link_hash
from tvoxcc.store.engine import Store
from tvoxcc.store.models.audit import AuditEntry, AuditHead
from tvoxcc.store.types import utcnow

HEAD_ID = 1
_PAGE = 2000
_head: Table = AuditHead.__table__  # type: ignore[assignment]
_entries: Table = AuditEntry.__table__  # type: ignore[assignment]


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: AuditAction,
    tenant: str | None = None,
    subject: str = "",
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> int:
    """Append one row to the chain in ``session``'s transaction (the caller commits, so the row stands or
    falls with the change it describes). Returns its ``seq``.

    The head row is updated first: that statement waits for any other writer's transaction (row lock on
    PostgreSQL, the database's write lock on SQLite), so each writer links to the last committed row.
    """
    bump = update(_head).where(_head.c.id == HEAD_ID).values(seq=_head.c.seq + 1).returning(_head.c.seq, _head.c.hash)
    head = (await session.execute(bump)).first()
    if head is None:  # a store created without the migration's head row
        await session.execute(insert(_head).values(id=HEAD_ID, seq=0, hash=GENESIS))
        head = (await session.execute(bump)).one()
    seq, prev_hash = int(head.seq), str(head.hash)
    when = at or utcnow()
    body = dict(detail or {})
    digest = link_hash(prev_hash, canonical(seq, when, actor, str(action), tenant, subject, body))
    await session.execute(
        insert(_entries).values(
            seq=seq,
            at=when,
            actor=actor,
            action=str(action),
            tenant=tenant,
            subject=subject,
            detail=body,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    await session.execute(update(_head).where(_head.c.id == HEAD_ID).values(hash=digest))
    return seq


async def record_now(store: Store, **fields: Any) -> int:
    """``record`` in a transaction of its own (a login, a play: nothing else to commit with it)."""
    async with store.session() as session:
        seq = await record(session, **fields)
        await session.commit()
        return seq


def _link(row: AuditEntry) -> Link:
    return Link(row.seq, row.at, row.actor, row.action, row.tenant, row.subject, row.detail, row.prev_hash, row.hash)


async def entries(
    session: AsyncSession,
    *,
    tenant: str | None = None,
    since: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Rows matching every filter given, oldest first (the last ``limit`` of them)."""
    stmt = select(AuditEntry)
    if tenant is not None:
        stmt = stmt.where(AuditEntry.tenant == tenant)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if actor is not None:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    stmt = stmt.order_by(AuditEntry.seq.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = (await session.execute(stmt)).scalars().all()
    return [asdict(_link(r)) for r in reversed(rows)]


async def verify(session: AsyncSession) -> tuple[int, str | None]:
    """(rows checked, the first problem or None), reading the log a page at a time."""
    check, after, count = ChainCheck(), 0, 0
    columns = [_entries.c[name] for name in Link.__dataclass_fields__]
    while True:
        page = (
            await session.execute(select(*columns).where(_entries.c.seq > after).order_by(_entries.c.seq).limit(_PAGE))
        ).all()
        for row in page:
            count += 1
            if check.feed(Link(*row)):
                return count, check.problem
        if len(page) < _PAGE:
            break
        after = page[-1].seq
    head = (await session.execute(select(_head.c.seq, _head.c.hash).where(_head.c.id == HEAD_ID))).first()
    head_seq, head_hash = (int(head.seq), str(head.hash)) if head else (0, GENESIS)
    return count, check.finish(head_seq, head_hash)
