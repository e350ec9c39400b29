"""Every stored row of a journey in one read: one statement, one round trip, whatever the history's size.

A journey needs six kinds of rows (interactions, their timeline events and NPS answers, tickets with their
messages, callbacks). Read one query each, the round trips cost more than the rows; joined into one wide
row set, an interaction's columns would repeat (and be converted again) for each of its events. So the
statement is a UNION ALL of six reads, each on its own ``(tenant_id, …)`` index, into shared typed slots:
each row says what it is (its ``part``) and leaves the slots it has no use for NULL.

The interactions are picked through a UNION ALL of ids (by contact, by unmatched sender address) that the
other parts reuse as a subquery: tenant sessions always filter on tenant_id, and a long literal IN list or
an OR across columns would make SQLite's planner (without statistics) take the lone tenant_id index and
read the whole tenant.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from enum import IntEnum
from typing import Any

from sqlalchemy import JSON, CompoundSelect, Integer, String, bindparam, literal_column, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tvoxcc.interactions import InteractionEventKind as Kind
from tvoxcc.ivr.commands import IvrNote
from tvoxcc.journey.rows import (
    CallbackRow,
    EventRow,
    InteractionRow,
    JourneyRows,
    MessageRow,
    NpsRow,
    TicketRow,
)
from tvoxcc.queues.model import EventKind
from tvoxcc.store import models as m
from tvoxcc.store.types import UTCDateTime

# The events the timeline reads; the rest (ringing, RONA, relaxation…) stays in Insight.
TIMELINE_EVENTS = (
    IvrNote.NODE,
    IvrNote.INPUT,
    Kind.QUEUED,
    EventKind.ITEM_QUEUED,
    EventKind.ITEM_CONNECTED,
    Kind.VOICEMAIL_TICKET,
    EventKind.CALLBACK_REQUESTED,
)


class Part(IntEnum):
    """What a row of the journey read is."""

    INTERACTION = 0
    EVENT = 1
    NPS = 2
    TICKET = 3
    MESSAGE = 4
    CALLBACK = 5


# Slots after the part: integers, strings, datetimes, one JSON; each part fills them in this order.
INTS, STRINGS, TIMES, JSONS = 5, 9, 3, 1
SLOT_TYPES = (Integer(),) * INTS + (String(),) * STRINGS + (UTCDateTime(),) * TIMES + (JSON(),) * JSONS


def _part(part: Part, ints: Sequence[Any], strings: Sequence[Any], times: Sequence[Any], json: Sequence[Any]) -> Any:
    """One part's columns in the shared slots, NULL (cast to the slot's type, as a UNION needs) where unused."""
    columns: list[Any] = [literal_column(str(int(part)), Integer)]
    for given, size, offset in ((ints, INTS, 0), (strings, STRINGS, INTS), (times, TIMES, INTS + STRINGS)):
        columns += [*given, *(null().cast(SLOT_TYPES[offset + k]) for k in range(len(given), size))]
    columns += [*json, *(null().cast(JSON()) for _ in range(len(json), JSONS))]
    return columns


def _unused(count: int) -> list[Any]:
    return [null().cast(Integer()) for _ in range(count)]


def _statement() -> CompoundSelect[Any]:
    i, e, n, t, msg, c = m.Interaction, m.InteractionEvent, m.NpsAnswer, m.Ticket, m.TicketMessage, m.Callback
    family: Any = bindparam("family", expanding=True)
    addresses: Any = bindparam("addresses", expanding=True)
    # Unmatched ones only: another contact's call from the same number is theirs.
    picked = union_all(
        select(i.id).where(i.contact_id.in_(family)),
        select(i.id).where(i.from_address.in_(addresses), i.contact_id.is_(None)),
    ).cte("journey_interactions")
    ids = select(picked.c.id)
    ticket_ids: Any = union_all(
        select(t.id).where(t.contact_id.in_(family)),
        select(i.ticket_id).where(i.id.in_(ids), i.ticket_id.is_not(None)),
    )
    callback_ids = union_all(
        select(c.id).where(c.contact_id.in_(family)),
        select(c.id).where(c.requested_by_id.in_(ids)),
    )
    service, queue, agent = aliased(m.Service), aliased(m.Queue), aliased(m.Agent)
    interactions = (
        select(
            *_part(
                Part.INTERACTION,
                (i.id, i.contact_id, i.ticket_id),
                (
                    i.channel,
                    i.direction,
                    i.from_address,
                    i.to_address,
                    i.outcome,
                    i.recording,
                    service.name,
                    queue.name,
                    agent.name,
                ),
                (i.offered_at, i.answered_at, i.ended_at),
                (),
            )
        )
        .outerjoin(service, service.id == i.service_id)
        .outerjoin(queue, queue.id == i.queue_id)
        .outerjoin(agent, agent.id == i.agent_id)
        .where(i.id.in_(ids))
    )
    events = (
        select(
            *_part(
                Part.EVENT, (e.interaction_id, *_unused(3), e.id), (e.kind, queue.name, agent.name), (e.at,), (e.data,)
            )
        )
        .outerjoin(queue, queue.id == e.queue_id)
        .outerjoin(agent, agent.id == e.agent_id)
        .where(e.interaction_id.in_(ids), e.kind.in_(TIMELINE_EVENTS))
    )
    nps_ints = (n.interaction_id, n.score, n.second_score, *_unused(1), n.id)
    nps = select(*_part(Part.NPS, nps_ints, (), (n.answered_at,), ())).where(n.interaction_id.in_(ids))
    tickets = (
        select(
            *_part(
                Part.TICKET,
                (t.id, t.number, t.contact_id),
                (t.subject, t.status, agent.name),
                (t.created_at, t.updated_at),
                (),
            )
        )
        .outerjoin(agent, agent.id == t.assignee_agent_id)
        .where(t.id.in_(ticket_ids))
    )
    message_ints = (msg.ticket_id, msg.interaction_id, *_unused(2), msg.id)
    messages = select(*_part(Part.MESSAGE, message_ints, (msg.kind,), (msg.created_at,), ())).where(
        msg.ticket_id.in_(ticket_ids)
    )
    callbacks = (
        select(
            *_part(
                Part.CALLBACK,
                (c.id, c.contact_id, c.requested_by_id, c.placed_as_id, c.attempts),
                (c.number, c.status, queue.name),
                (c.requested_at, c.due_at, c.completed_at),
                (),
            )
        )
        .outerjoin(queue, queue.id == c.queue_id)
        .where(c.id.in_(callback_ids))
    )
    return union_all(interactions, events, nps, tickets, messages, callbacks)


JOURNEY_ROWS = _statement()  # built once: only the parameters change from one journey to the next

# Where each kind of slot starts in a row (after the part).
FIRST_INT, FIRST_STRING, FIRST_TIME, FIRST_JSON = 1, 1 + INTS, 1 + INTS + STRINGS, 1 + INTS + STRINGS + TIMES


async def load_rows(session: AsyncSession, contact_ids: Collection[int], addresses: Iterable[str] = ()) -> JourneyRows:
    """Every row of these contacts' journeys, plus unmatched interactions from ``addresses``: one query."""
    family = sorted(set(contact_ids))
    addrs = sorted({a for a in addresses if a})
    if not family and not addrs:
        return JourneyRows()
    parts: list[list[Any]] = [[] for _ in Part]
    for row in (await session.execute(JOURNEY_ROWS, {"family": family, "addresses": addrs})).all():
        parts[row[0]].append(row)
    i, s, t, j = FIRST_INT, FIRST_STRING, FIRST_TIME, FIRST_JSON
    return JourneyRows(
        tuple(_interaction(r) for r in parts[Part.INTERACTION]),
        tuple(
            EventRow(r[i], r[t], r[s], r[s + 1], r[s + 2], r[j] if isinstance(r[j], dict) else {})
            for r in _by_id(parts[Part.EVENT])
        ),
        tuple(
            TicketRow(r[i], r[i + 1], r[s], r[s + 1], r[t], r[t + 1], r[i + 2], r[s + 2]) for r in parts[Part.TICKET]
        ),
        tuple(MessageRow(r[i], r[s], r[t], r[i + 1]) for r in _by_id(parts[Part.MESSAGE])),
        tuple(
            CallbackRow(
                r[i], r[s], r[t], r[s + 1], r[i + 1], r[s + 2], r[i + 2], r[i + 3], r[t + 1], r[i + 4], r[t + 2]
            )
            for r in parts[Part.CALLBACK]
        ),
        tuple(NpsRow(r[i], r[i + 1], r[t], r[i + 2]) for r in _by_id(parts[Part.NPS])),
    )


def _by_id(rows: list[Any]) -> list[Any]:
    """Rows in the order they were stored (by the row id in their last integer slot): events at the same
    instant, or a ticket's messages, then come in a known order."""
    return sorted(rows, key=lambda r: r[FIRST_INT + INTS - 1])


def _interaction(r: Any) -> InteractionRow:
    i, s, t = FIRST_INT, FIRST_STRING, FIRST_TIME
    return InteractionRow(
        id=r[i],
        channel=r[s],
        offered_at=r[t],
        direction=r[s + 1],
        contact_id=r[i + 1],
        ticket_id=r[i + 2],
        from_address=r[s + 2],
        to_address=r[s + 3],
        answered_at=r[t + 1],
        ended_at=r[t + 2],
        outcome=r[s + 4],
        recording=r[s + 5],
        service=r[s + 6],
        queue=r[s + 7],
        agent=r[s + 8],
    )
