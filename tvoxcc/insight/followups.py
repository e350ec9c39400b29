"""Callbacks, ticket first-contact resolution and SLA breaches aggregated in SQL, for the report's basic path.

Both tables are small next to the call log (a callback or a resolved ticket per many calls), so they are
aggregated live per 15-minute UTC slot, like ``store.aggregate_query``, and merged into its slots. The
definitions are the core's (tvoxcc.insight.metrics): a ticket counts when solved (else closed); it is
resolved at first contact with exactly one agent reply (an outbound mail not sent as an acknowledgement)
and no customer message after that reply.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from tvoxcc.insight.aggregate import SLOT_S, Slots, epoch_of
from tvoxcc.insight.figures import ALL, NONE, Figures
from tvoxcc.insight.model import Dimension, Params
from tvoxcc.insight.store import Names, first_inbound_channel
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.support.status import MessageKind, TicketEventKind
from tvoxcc.voice.callback_status import CallbackStatus


def _slot(column: Any, dialect: str) -> ColumnElement[Any]:
    epoch = epoch_of(column, dialect)
    return func.floor(epoch / SLOT_S) if dialect != "sqlite" else epoch // SLOT_S


def _group(by: Dimension, columns: dict[Dimension, Any]) -> list[Any]:
    column = columns.get(by)
    return [] if column is None else [column.label("grp")]


def callbacks_query(dialect: str, tenant_id: int, params: Params, by: Dimension, completed: bool) -> Select[Any]:
    cb, placed = m.Callback, aliased(m.Interaction)
    at = cb.completed_at if completed else cb.requested_at
    group = _group(
        by,
        {
            Dimension.QUEUE: cb.queue_id,
            Dimension.SERVICE: cb.service_id,
            Dimension.AGENT: placed.agent_id if completed else literal(None),
            Dimension.CHANNEL: literal(str(Channel.VOICE)),
        },
    )
    query = (
        select(*group, _slot(at, dialect).label("slot"), func.count().label("n"))
        .select_from(cb)
        .where(cb.tenant_id == tenant_id, at >= params.start, at < params.end)
    )
    if completed:
        query = query.outerjoin(placed, placed.id == cb.placed_as_id).where(cb.status == CallbackStatus.DONE)
    return query.group_by(*(g for g in group), "slot")


def _ticket_columns() -> dict[Dimension, Any]:
    t = m.Ticket
    return {
        Dimension.QUEUE: t.queue_id,
        Dimension.SERVICE: t.service_id,
        Dimension.AGENT: t.assignee_agent_id,
        Dimension.CHANNEL: first_inbound_channel(t),
    }


def breaches_query(dialect: str, tenant_id: int, params: Params, by: Dimension) -> Select[Any]:
    e, t = m.TicketEvent, m.Ticket
    group = _group(by, _ticket_columns())
    return (
        select(*group, _slot(e.at, dialect).label("slot"), func.count().label("n"))
        .select_from(e)
        .join(t, t.id == e.ticket_id)
        .where(
            e.tenant_id == tenant_id, e.kind == TicketEventKind.SLA_BREACHED, e.at >= params.start, e.at < params.end
        )
        .group_by(*(g for g in group), "slot")
    )


def tickets_query(dialect: str, tenant_id: int, params: Params, by: Dimension) -> Select[Any]:
    t, msg, box = m.Ticket, m.TicketMessage, m.OutboxMail
    resolved = func.coalesce(t.solved_at, t.closed_at)
    is_reply = and_(
        msg.ticket_id == t.id,
        msg.kind == MessageKind.OUTBOUND,
        or_(box.kind.is_(None), box.kind == m.OutboxKind.REPLY),
    )

    def replies(value: Any) -> Any:
        return (
            select(value)
            .select_from(msg)
            .outerjoin(box, and_(box.tenant_id == msg.tenant_id, box.message_id == msg.message_id))
            .where(is_reply)
            .correlate(t)  # also when nested in the follow-up EXISTS, two levels down
            .scalar_subquery()
        )

    first_reply = replies(func.min(msg.created_at))
    later = aliased(m.TicketMessage)
    follow_up = exists().where(
        later.ticket_id == t.id, later.kind == MessageKind.INBOUND, later.created_at > first_reply
    )
    group = _group(by, _ticket_columns())
    fcr = case((and_(replies(func.count()) == 1, ~follow_up), 1), else_=0)
    return (
        select(*group, _slot(resolved, dialect).label("slot"), func.count().label("n"), func.sum(fcr).label("fcr"))
        .where(t.tenant_id == tenant_id, resolved >= params.start, resolved < params.end)
        .group_by(*(g for g in group), "slot")
    )


async def followup_slots(store: Store, tenant_id: int, params: Params, by: Dimension, names: Names) -> Slots:
    """Callbacks requested/completed, tickets resolved/first-contact and SLA breaches per group and 15-min UTC slot."""
    dialect = store.engine.dialect.name
    label = {Dimension.QUEUE: names.queues, Dimension.AGENT: names.agents, Dimension.SERVICE: names.services}.get(by)
    grouped = by in (Dimension.QUEUE, Dimension.AGENT, Dimension.SERVICE, Dimension.CHANNEL)

    def key(row: Any) -> tuple[str, datetime]:
        value = row.grp if grouped else ALL
        named = label.get(value) if label is not None and isinstance(value, int) else value
        return (NONE if named is None else str(named)), datetime.fromtimestamp(int(row.slot) * SLOT_S, UTC)

    slots: Slots = []
    async with store.session() as s:
        for completed in (False, True):
            for row in await s.execute(callbacks_query(dialect, tenant_id, params, by, completed)):
                n = int(row.n)
                figures = Figures(callbacks_completed=n) if completed else Figures(callbacks_requested=n)
                slots.append((*key(row), figures))
        for row in await s.execute(tickets_query(dialect, tenant_id, params, by)):
            slots.append((*key(row), Figures(tickets_resolved=int(row.n), tickets_fcr=int(row.fcr or 0))))
        for row in await s.execute(breaches_query(dialect, tenant_id, params, by)):
            slots.append((*key(row), Figures(sla_breaches=int(row.n))))
    return slots
