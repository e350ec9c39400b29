"""The journey's store side, on a tenant-scoped session (``Store.tenant(id)``): a fixed number of queries
per request, whatever the history's size (no query per interaction, ticket or contact).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tvoxcc.interactions import Direction
from tvoxcc.interactions import InteractionEventKind as Kind
from tvoxcc.ivr.commands import IvrNote
from tvoxcc.journey.contacts import ContactNotFound, Ref, merged_family, resolve
from tvoxcc.journey.identify import email_owners, phone_owners
from tvoxcc.journey.rows import (
    CallbackRow,
    ContactRow,
    EventRow,
    InteractionRow,
    JourneyRows,
    MessageRow,
    NpsRow,
    TicketRow,
)
from tvoxcc.queues.model import EventKind
from tvoxcc.store import models as m

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

# Names joined onto rows; built once, so SQLAlchemy's statement cache recognises every query.
SERVICE, QUEUE, AGENT = aliased(m.Service), aliased(m.Queue), aliased(m.Agent)


async def tenant_country(session: AsyncSession) -> str:
    """The tenant's default country for E.164 (the session's tenant: tenant sessions see only their own)."""
    country = (await session.execute(select(m.Tenant.country))).scalar_one_or_none()
    return country or "IT"


async def load_contacts(session: AsyncSession, where: Any) -> dict[int, ContactRow]:
    """Contacts matching ``where`` with their phones and e-mails: three queries."""
    c = m.Contact
    columns = (c.id, c.tenant_id, c.display_name, c.company, c.vip, c.language, c.merged_into_id, c.created_at)
    contacts = (await session.execute(select(*columns).where(where))).all()
    if not contacts:
        return {}
    ids = select(m.Contact.id).where(where)
    # No ORDER BY in SQL (it would steer SQLite to the tenant_id index): ordered here, by row id.
    phones: dict[int, list[str]] = {}
    for _, cid, number in sorted(
        (
            await session.execute(
                select(m.ContactPhone.id, m.ContactPhone.contact_id, m.ContactPhone.number).where(
                    m.ContactPhone.contact_id.in_(ids)
                )
            )
        ).all()
    ):
        phones.setdefault(cid, []).append(number)
    emails: dict[int, list[str]] = {}
    for _, cid, email in sorted(
        (
            await session.execute(
                select(m.ContactEmail.id, m.ContactEmail.contact_id, m.ContactEmail.email).where(
                    m.ContactEmail.contact_id.in_(ids)
                )
            )
        ).all()
    ):
        emails.setdefault(cid, []).append(email)
    return {
        cid: ContactRow(
            cid, tid, name, company, vip, language, into, tuple(phones.get(cid, ())), tuple(emails.get(cid, ())), at
        )
        for cid, tid, name, company, vip, language, into, at in contacts
    }


async def find_contact_id(session: AsyncSession, ref: Ref) -> int | None:
    """The contact a reference names (before following merges); None when nobody has that address."""
    if ref.contact_id is not None:
        by_id = select(m.Contact.id).where(m.Contact.id == ref.contact_id)
        return (await session.execute(by_id)).scalar_one_or_none()
    if ref.phone is not None:
        return (await phone_owners(session, [ref.phone])).get(ref.phone)
    if ref.email is None:
        return None
    # stored case-folded by the mail channel; an import may have kept capitals
    return (await email_owners(session, [ref.email], fold_case=True)).get(ref.email)


async def contact_and_family(session: AsyncSession, contact_id: int) -> tuple[ContactRow, set[int]]:
    """The survivor an id resolves to (through merges) and every contact merged into it."""
    links = {
        cid: parent
        for cid, parent in await session.execute(
            select(m.Contact.id, m.Contact.merged_into_id).where(m.Contact.merged_into_id.is_not(None))
        )
    }
    survivor_id = contact_id
    seen: set[int] = set()
    while links.get(survivor_id) is not None and survivor_id not in seen:
        seen.add(survivor_id)
        survivor_id = links[survivor_id]  # type: ignore[assignment]
    contacts = await load_contacts(session, m.Contact.id.in_({contact_id, survivor_id}))
    if contact_id not in contacts:
        raise ContactNotFound(f"no contact {contact_id}")
    survivor = resolve(contacts, contact_id)
    return survivor, merged_family(links, survivor.id)


CHUNK = 500  # ids per IN list: well under every driver's parameter limit


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    ordered = sorted(set(ids))
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]


async def load_rows(session: AsyncSession, contact_ids: Collection[int], addresses: Iterable[str] = ()) -> JourneyRows:
    """Every row of these contacts' journeys, plus unmatched interactions from ``addresses``.

    About a dozen queries whatever the history's size. Each child table is read through a subquery of
    interaction ids, on a ``(tenant_id, …)`` index: tenant sessions always filter on tenant_id, and a
    long literal IN list or an OR across columns would make SQLite's planner (without statistics) take
    the lone tenant_id index and read the whole tenant.
    """
    addrs = sorted({a for a in addresses if a})
    family = set(contact_ids)
    selectors = []  # interaction ids: by contact, by address
    if family:
        selectors.append(select(m.Interaction.id).where(m.Interaction.contact_id.in_(family)))
    if addrs:  # unmatched ones only: another contact's call from the same number is theirs
        unmatched = m.Interaction.from_address.in_(addrs) & m.Interaction.contact_id.is_(None)
        selectors.append(select(m.Interaction.id).where(unmatched))
    interactions: dict[int, InteractionRow] = {}
    if family:
        interactions.update((r.id, r) for r in await _interactions(session, m.Interaction.contact_id.in_(family)))
    if addrs:
        interactions.update((r.id, r) for r in await _interactions(session, unmatched))
    mine = set(interactions)  # the selectors are disjoint: no row is read twice
    events = [e for sel in selectors for e in await _events(session, sel) if e.interaction_id in mine]
    nps = [
        NpsRow(r.interaction_id, r.score, r.answered_at, r.second_score)
        for sel in selectors
        for r in await session.execute(
            select(
                m.NpsAnswer.interaction_id, m.NpsAnswer.score, m.NpsAnswer.answered_at, m.NpsAnswer.second_score
            ).where(m.NpsAnswer.interaction_id.in_(sel))
        )
        if r.interaction_id in mine
    ]
    tickets = {t.id: t for t in await _tickets(session, m.Ticket.contact_id.in_(family))} if family else {}
    missing = {i.ticket_id for i in interactions.values() if i.ticket_id is not None} - set(tickets)
    for chunk in _chunks(i for i in missing if i is not None):
        tickets.update((t.id, t) for t in await _tickets(session, m.Ticket.id.in_(chunk)))
    messages = [
        MessageRow(r.ticket_id, r.kind, r.created_at, r.interaction_id)
        for chunk in _chunks(tickets)
        for r in await session.execute(
            select(
                m.TicketMessage.ticket_id,
                m.TicketMessage.kind,
                m.TicketMessage.created_at,
                m.TicketMessage.interaction_id,
            ).where(m.TicketMessage.ticket_id.in_(chunk))
        )
    ]
    callbacks = {c.id: c for c in await _callbacks(session, m.Callback.contact_id.in_(family))} if family else {}
    for sel in selectors:
        for c in await _callbacks(session, m.Callback.requested_by_id.in_(sel)):
            if c.requested_by_id in mine:
                callbacks[c.id] = c
    return JourneyRows(
        tuple(interactions.values()),
        tuple(events),
        tuple(tickets.values()),
        tuple(messages),
        tuple(callbacks.values()),
        tuple(nps),
    )


async def _interactions(session: AsyncSession, where: Any) -> list[InteractionRow]:
    service, queue, agent = SERVICE, QUEUE, AGENT
    i = m.Interaction
    query = (
        select(
            i.id,
            i.channel,
            i.offered_at,
            i.direction,
            i.contact_id,
            i.ticket_id,
            i.from_address,
            i.to_address,
            i.answered_at,
            i.ended_at,
            i.outcome,
            i.recording,
            service.name,
            queue.name,
            agent.name,
        )
        .outerjoin(service, service.id == i.service_id)
        .outerjoin(queue, queue.id == i.queue_id)
        .outerjoin(agent, agent.id == i.agent_id)
        .where(where)
    )
    return [InteractionRow(*row) for row in (await session.execute(query)).all()]


async def _events(session: AsyncSession, interaction_ids: Select[int]) -> list[EventRow]:
    queue, agent = QUEUE, AGENT
    e = m.InteractionEvent
    query = (
        select(e.interaction_id, e.at, e.kind, queue.name, agent.name, e.data)
        .outerjoin(queue, queue.id == e.queue_id)
        .outerjoin(agent, agent.id == e.agent_id)
        .where(e.interaction_id.in_(interaction_ids), e.kind.in_(TIMELINE_EVENTS))
    )
    return [
        EventRow(iid, at, kind, q, a, data if isinstance(data, dict) else {})
        for iid, at, kind, q, a, data in (await session.execute(query)).all()
    ]


async def _tickets(session: AsyncSession, where: Any) -> list[TicketRow]:
    agent = AGENT
    query = select(m.Ticket, agent.name).outerjoin(agent, agent.id == m.Ticket.assignee_agent_id).where(where)
    return [
        TicketRow(t.id, t.number, t.subject, t.status, t.created_at, t.updated_at, t.contact_id, name)
        for t, name in (await session.execute(query)).all()
    ]


async def _callbacks(session: AsyncSession, where: Any) -> list[CallbackRow]:
    queue = QUEUE
    query = select(m.Callback, queue.name).outerjoin(queue, queue.id == m.Callback.queue_id).where(where)
    return [
        CallbackRow(
            c.id,
            c.number,
            c.requested_at,
            c.status,
            c.contact_id,
            name,
            c.requested_by_id,
            c.placed_as_id,
            c.due_at,
            c.attempts,
            c.completed_at,
        )
        for c, name in (await session.execute(query)).all()
    ]


async def interaction_counts(session: AsyncSession, start: datetime, end: datetime) -> dict[int | None, int]:
    """Inbound interactions offered in [start, end) per contact id (None: unmatched).

    Only what customers start counts: our replies, acknowledgements and internal calls do not say how well
    the address book knows who contacts us.
    """
    rows = await session.execute(
        select(m.Interaction.contact_id, func.count())
        .where(
            m.Interaction.offered_at >= start,
            m.Interaction.offered_at < end,
            m.Interaction.direction == Direction.INBOUND,
        )
        .group_by(m.Interaction.contact_id)
    )
    return {cid: int(n) for cid, n in rows.all()}


async def contacts_of_period(session: AsyncSession, start: datetime, end: datetime) -> dict[int, ContactRow]:
    """The contacts the period's inbound interactions point at, and the survivors of the merged ones.

    Without phones and e-mails: ``is_known`` does not need them, and a period may touch many contacts.
    """
    period = select(m.Interaction.contact_id).where(
        m.Interaction.offered_at >= start, m.Interaction.offered_at < end, m.Interaction.direction == Direction.INBOUND
    )
    contacts = await _bare_contacts(session, m.Contact.id.in_(period))
    missing = {c.merged_into_id for c in contacts.values()} - set(contacts) - {None}
    while missing:  # a chain of merges is short: one round per link
        more = await _bare_contacts(session, m.Contact.id.in_(missing))
        contacts.update(more)
        missing = {c.merged_into_id for c in more.values()} - set(contacts) - {None}
    return contacts


async def _bare_contacts(session: AsyncSession, where: Any) -> dict[int, ContactRow]:
    c = m.Contact
    query = select(c.id, c.tenant_id, c.display_name, c.company, c.vip, c.language, c.merged_into_id).where(where)
    return {row[0]: ContactRow(*row) for row in (await session.execute(query)).all()}
