"""A ticket's work item in the ACD, taken back in the desk's own transaction.

When a person changes a ticket (assigns it by hand, unassigns it, solves it…), the request that frees its
ACD item (``complete`` when it is in an agent's hands, ``abandon`` while it waits) is written in the same
transaction as the change: the support service's next pass then sees that request pending and never takes
the old assignment for a new one (tvoxcc.support.dispatch).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.acd import InputKind, Request, queue_inputs
from tvoxcc.queues.model import ItemStatus
from tvoxcc.store import models as m
from tvoxcc.support.dispatch import ticket_item


async def withdraw(session: AsyncSession, ticket: m.Ticket) -> bool:
    """Free the ticket's ACD item, if it has one; True if a request was written."""
    item_id = ticket_item(ticket.tenant_id, ticket.number)
    status = await session.scalar(select(m.AcdItem.status).where(m.AcdItem.item_id == item_id))
    if status is None:
        return False
    kind = InputKind.COMPLETE if status == ItemStatus.CONNECTED else InputKind.ABANDON
    await queue_inputs(session, [Request(kind, item_id)])
    return True
