"""Opening a ticket, for every channel: its number from the tenant's counter, its row, the event that starts its SLA.

Numbers are per tenant and shown as T-<number>, T-1001 first. They come from one row per tenant
(``ticket_counters``) advanced by ``UPDATE … SET next_number = next_number + k RETURNING``: the row
stays locked until the transaction ends (a row lock on PostgreSQL, the writer lock on SQLite), so a
concurrent opener waits and continues after the numbers taken, and a rolled-back transaction gives
its numbers back. Numbers are therefore unique and gapless. Reading ``max(number)`` instead let a
voicemail and a mail batch pick the same number, and the loser's ticket was lost.

Nothing here commits: the caller's transaction holds the ticket with everything stored alongside it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Insert, Table, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.store import models as m
from tvoxcc.store.tenancy import TenantViolation, session_tenant
from tvoxcc.support.sla_store import status_event
from tvoxcc.support.status import TicketStatus

FIRST_NUMBER = 1001

_COUNTERS = cast(Table, m.TicketCounter.__table__)
_TICKETS = cast(Table, m.Ticket.__table__)


def _seed(dialect: str, tenant_id: int) -> Insert:
    """The tenant's counter row, after its highest stored number; nothing if a concurrent writer made it first."""
    highest = select(literal(tenant_id), func.coalesce(func.max(_TICKETS.c.number), FIRST_NUMBER - 1) + 1).where(
        _TICKETS.c.tenant_id == tenant_id  # a WHERE also keeps SQLite's parser from taking ON CONFLICT for a join
    )
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return make(_COUNTERS).from_select(["tenant_id", "next_number"], highest).on_conflict_do_nothing()


async def reserve_numbers(session: AsyncSession, count: int) -> int:
    """The first of ``count`` consecutive ticket numbers of the session's tenant, taken in its transaction.

    ``count`` 0 locks the counter and tells the next number without taking it: a mail batch does
    that before it plans (its acknowledgements quote the numbers), then takes what it used.
    """
    tenant_id = session_tenant(session.sync_session)
    if tenant_id is None:
        raise TenantViolation("ticket numbers are per tenant: open tickets in a tenant session")
    if count < 0:
        raise ValueError(f"cannot reserve {count} ticket numbers")
    connection = await session.connection()
    advance = (
        update(_COUNTERS)
        .where(_COUNTERS.c.tenant_id == tenant_id)
        .values(next_number=_COUNTERS.c.next_number + count)
        .returning(_COUNTERS.c.next_number)
    )
    after = (await connection.execute(advance)).scalar_one_or_none()
    if after is None:  # a tenant's first ticket since the migration that made the counters
        await connection.execute(_seed(connection.dialect.name, tenant_id))
        after = (await connection.execute(advance)).scalar_one()
    return int(after) - count


def new_ticket_row(
    number: int, *, subject: str, service_id: int | None, contact_id: int | None, now: datetime
) -> dict[str, Any]:
    """The INSERT values of a new ticket, whatever channel opens it (SLA targets and routing belong here)."""
    return {
        "number": number,
        "service_id": service_id,
        "contact_id": contact_id,
        "subject": subject[:500],
        "status": TicketStatus.NEW,
        "updated_at": now,
        "created_at": now,
    }


async def open_ticket(
    session: AsyncSession, *, subject: str, now: datetime, service_id: int | None, contact_id: int | None
) -> m.Ticket:
    """A new ticket (flushed: it has its id) with its first status event, from which the SLA clocks run."""
    number = await reserve_numbers(session, 1)
    ticket = m.Ticket(**new_ticket_row(number, subject=subject, service_id=service_id, contact_id=contact_id, now=now))
    session.add(ticket)
    await session.flush()
    session.add(status_event(ticket, TicketStatus.NEW, now))
    return ticket
