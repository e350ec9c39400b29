"""What an operator does with a tenant's callbacks: list them and cancel one that has not been dialled yet.

A cancelled row is never dialled: a running voice service drops it from the line at its next poll
(tvoxcc.voice.acd), and refuses to start an attempt on it if the cancel came in the meantime
(CallbackBook.placing). One being dialled, answered or finished can no longer be cancelled.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.repository import tenant_id_of
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.callback_status import CallbackStatus


@dataclass(frozen=True, slots=True)
class CallbackRow:
    id: int
    number: str
    queue: str | None
    status: str
    attempts: int
    requested_at: datetime
    completed_at: datetime | None
    contact: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "queue": self.queue,
            "status": self.status,
            "attempts": self.attempts,
            "requested_at": self.requested_at.isoformat(),
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "contact": self.contact,
        }


async def _rows(session: AsyncSession, *where: ColumnElement[bool]) -> list[CallbackRow]:
    """The session tenant's callbacks matching ``where``, with queue and contact names, oldest request first."""
    rows = await session.execute(
        select(m.Callback, m.Queue.name, m.Contact.display_name)
        .outerjoin(m.Queue, m.Queue.id == m.Callback.queue_id)
        .outerjoin(m.Contact, m.Contact.id == m.Callback.contact_id)
        .where(*where)
        .order_by(m.Callback.requested_at, m.Callback.id)
    )
    return [
        CallbackRow(c.id, c.number, queue, c.status, c.attempts, c.requested_at, c.completed_at, contact or None)
        for c, queue, contact in rows.all()
    ]


async def list_callbacks(
    store: Store, tenant: str, statuses: Collection[str] = CallbackStatus.OPEN
) -> list[CallbackRow]:
    """The tenant's callbacks in these statuses, oldest request first."""
    unknown = sorted(set(statuses) - set(CallbackStatus))
    if unknown:
        raise AdminError(f"unknown callback status {unknown[0]!r}: use one of {', '.join(CallbackStatus)}")
    async with store.tenant(await tenant_id_of(store, tenant)) as session:
        return await _rows(session, m.Callback.status.in_(sorted(statuses)))


async def cancel_callback(store: Store, tenant: str, callback_id: int, now: datetime) -> CallbackRow:
    """Cancel a callback not yet dialled; a clear error for one of another tenant, or too late to cancel."""
    tenant_id = await tenant_id_of(store, tenant)
    async with store.tenant(tenant_id) as session:
        row = await session.get(m.Callback, callback_id)
        if row is None:
            raise AdminError(f"no callback {callback_id} in tenant {tenant!r}")
        # One statement: the voice service may be taking the row at this very moment.
        done = await session.execute(
            update(m.Callback)
            .where(m.Callback.id == callback_id, m.Callback.tenant_id == tenant_id)
            .where(m.Callback.status.in_(CallbackStatus.CANCELLABLE))
            .values(status=CallbackStatus.CANCELLED, completed_at=now)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        if done.rowcount != 1:  # type: ignore[attr-defined]
            await session.refresh(row)
            raise AdminError(f"callback {callback_id} is {row.status}: only a pending or queued one can be cancelled")
        (cancelled,) = await _rows(session, m.Callback.id == callback_id)
        return cancelled
