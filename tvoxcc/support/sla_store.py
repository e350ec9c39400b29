"""The SLA of stored tickets: status history in ``ticket_events``, targets on the service, results on the ticket.

The clocks are always computed by tvoxcc.support.sla from the history; the ticket's due and
breached columns are a copy kept for Insight (plain COUNTs), refreshed on every status change and
by the dispatcher's tick (a target can be missed while nothing happens to the ticket).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.store import models as m
from tvoxcc.support.hours import business_hours
from tvoxcc.support.sla import Sla, SlaTargets, StatusChange, sla_of
from tvoxcc.support.status import TicketEventKind, TicketStatus


def status_event_row(
    ticket_id: int | None, status: TicketStatus, now: datetime, *, agent_id: int | None = None
) -> dict[str, Any]:
    """The values of the history row for a ticket entering ``status``, for every path that writes one (a batch
    of mails inserts them in bulk)."""
    return {"ticket_id": ticket_id, "at": now, "kind": TicketEventKind.STATUS, "agent_id": agent_id,
            "data": {"to": str(status)}}  # fmt: skip


def status_event(
    ticket: m.Ticket, status: TicketStatus, now: datetime, *, agent_id: int | None = None
) -> m.TicketEvent:
    """The history row for a ticket entering ``status`` (the ticket must have an id)."""
    return m.TicketEvent(**status_event_row(ticket.id, status, now, agent_id=agent_id))


def change_status(
    session: AsyncSession, ticket: m.Ticket, status: TicketStatus, now: datetime, *, agent_id: int | None = None
) -> str:
    """Set the status and record it in the history; returns the previous status. Same status: nothing recorded."""
    previous = ticket.status
    if status != previous:
        ticket.status = status
        session.add(status_event(ticket, status, now, agent_id=agent_id))
    ticket.updated_at = now
    return previous


async def targets_by_service(session: AsyncSession) -> dict[int, SlaTargets]:
    rows = await session.execute(
        select(
            m.Service.id,
            m.Service.sla_first_response_min,
            m.Service.sla_resolution_min,
            m.Service.business_hours,
            m.Service.holidays,
            m.Tenant.timezone,
        ).join(m.Tenant, m.Tenant.id == m.Service.tenant_id)
    )
    return {
        sid: SlaTargets(
            first, resolution, business_hours(hours, [date.fromisoformat(d) for d in holidays or ()], timezone)
        )
        for sid, first, resolution, hours, holidays, timezone in rows.all()
    }


async def histories(session: AsyncSession, tickets: Sequence[m.Ticket]) -> dict[int, list[StatusChange]]:
    """Each ticket's status history in time order; tickets older than the history start as 'new' at creation."""
    ids = [t.id for t in tickets]
    found: dict[int, list[StatusChange]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(
            select(m.TicketEvent.ticket_id, m.TicketEvent.at, m.TicketEvent.data)
            .where(m.TicketEvent.ticket_id.in_(ids), m.TicketEvent.kind == TicketEventKind.STATUS)
            .order_by(m.TicketEvent.at, m.TicketEvent.id)
        )
        for tid, at, data in rows.all():
            found[tid].append(StatusChange(at, str(data.get("to", ""))))
    for t in tickets:
        changes = found[t.id]
        if not changes or changes[0].at > t.created_at:
            changes.insert(0, StatusChange(t.created_at, TicketStatus.NEW))
        if changes[-1].status != t.status:  # changed before the history was kept
            changes.append(StatusChange(max(t.updated_at, changes[-1].at), t.status))
    return found


async def sla_by_ticket(session: AsyncSession, tickets: Sequence[m.Ticket], now: datetime) -> dict[int, Sla]:
    targets = await targets_by_service(session)
    history = await histories(session, tickets)
    none = SlaTargets()
    return {
        t.id: sla_of(
            history[t.id],
            targets.get(t.service_id, none) if t.service_id is not None else none,
            first_response_at=t.first_responded_at,
            now=now,
        )
        for t in tickets
    }


async def refresh_sla(session: AsyncSession, tickets: Sequence[m.Ticket], now: datetime) -> list[dict[str, Any]]:
    """Copy each ticket's clocks onto it; a newly missed target is flagged and recorded. Returns the new breaches.

    A due column keeps the last known due while its clock is paused or met (the flags say what happened).
    """
    breaches: list[dict[str, Any]] = []
    slas = await sla_by_ticket(session, tickets, now)
    for t in tickets:
        sla = slas[t.id]
        for target, clock, due_column, flag in (
            ("first-response", sla.first_response, "first_response_due", "first_response_breached"),
            ("resolution", sla.resolution, "resolution_due", "resolution_breached"),
        ):
            if clock is None:
                continue
            if clock.due is not None and getattr(t, due_column) != clock.due:
                setattr(t, due_column, clock.due)
            if clock.breached and not getattr(t, flag):
                setattr(t, flag, True)
                session.add(
                    m.TicketEvent(ticket_id=t.id, at=now, kind=TicketEventKind.SLA_BREACHED, data={"target": target})
                )
                breaches.append({"ticket": f"T-{t.number}", "target": target})
    return breaches
