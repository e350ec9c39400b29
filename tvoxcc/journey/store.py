"""The journey's contacts in the store, on a tenant-scoped session (``Store.tenant(id)``): a fixed number
of queries per request, whatever the history's size (no query per interaction, ticket or contact).
The journey's other rows are read in ``history``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, func, literal_column, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.interactions import Direction
from tvoxcc.journey.contacts import ContactNotFound, Ref, merged_family, resolve
from tvoxcc.journey.identify import email_owners, phone_owners
from tvoxcc.journey.rows import ContactRow
from tvoxcc.store import models as m


async def tenant_country(session: AsyncSession) -> str:
    """The tenant's default country for E.164 (the session's tenant: tenant sessions see only their own)."""
    country = (await session.execute(select(m.Tenant.country))).scalar_one_or_none()
    return country or "IT"


async def load_contacts(session: AsyncSession, where: Any) -> dict[int, ContactRow]:
    """Contacts matching ``where`` with their phones and e-mails: three queries."""
    c = m.Contact
    columns = (c.id, c.tenant_id, c.display_name, c.company, c.vip, c.language, c.merged_into_id, c.created_at, c.notes)
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
            cid,
            tid,
            name,
            company,
            vip,
            language,
            into,
            tuple(phones.get(cid, ())),
            tuple(emails.get(cid, ())),
            at,
            notes or "",
        )
        for cid, tid, name, company, vip, language, into, at, notes in contacts
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
    """The survivor an id resolves to (through merges), with its phones and e-mails, and every contact
    merged into it: one query, a second one only when the id is a merged duplicate's."""
    card, links = await _card(session, contact_id)
    if card is None:
        raise ContactNotFound(f"no contact {contact_id}")
    contacts = {contact_id: card}
    survivor_id = contact_id
    seen: set[int] = set()
    while links.get(survivor_id) is not None and survivor_id not in seen:
        seen.add(survivor_id)
        survivor_id = links[survivor_id]  # type: ignore[assignment]
    if survivor_id != contact_id:
        survivor_card, _ = await _card(session, survivor_id)
        if survivor_card is not None:
            contacts[survivor_id] = survivor_card
    survivor = resolve(contacts, contact_id)
    return survivor, merged_family(links, survivor.id)


# What each row of the card query is: the contact, a merge link, a phone, an e-mail.
CARD, LINK, PHONE, EMAIL = 0, 1, 2, 3


async def _card(session: AsyncSession, contact_id: int) -> tuple[ContactRow | None, dict[int, int | None]]:
    """A contact with its phones and e-mails, and every merge link of the tenant, in one round trip.

    One UNION ALL of four reads on their own indexes; the columns a part has no use for are NULL.
    """
    c, p, e = m.Contact, m.ContactPhone, m.ContactEmail

    def tag(part: int) -> Any:
        return literal_column(str(part), Integer)

    def blank(column: Any) -> Any:
        return null().cast(column.type)

    extra = (c.company, c.vip, c.language, c.created_at, c.tenant_id)
    query = union_all(
        select(tag(CARD), c.id, c.merged_into_id, c.display_name, *extra).where(c.id == contact_id),
        select(tag(LINK), c.id, c.merged_into_id, blank(c.display_name), *map(blank, extra)).where(
            c.merged_into_id.is_not(None)
        ),
        select(tag(PHONE), p.id, p.contact_id, p.number, *map(blank, extra)).where(p.contact_id == contact_id),
        select(tag(EMAIL), e.id, e.contact_id, e.email, *map(blank, extra)).where(e.contact_id == contact_id),
    )
    rows = (await session.execute(query)).all()
    links = {row[1]: row[2] for row in rows if row[0] == LINK}
    cards = [row for row in rows if row[0] == CARD]
    if not cards:
        return None, links
    _, cid, into, name, company, vip, language, at, tid = cards[0]
    phones = tuple(number for _, number in sorted((r[1], r[3]) for r in rows if r[0] == PHONE))  # by row id
    emails = tuple(email for _, email in sorted((r[1], r[3]) for r in rows if r[0] == EMAIL))
    return ContactRow(cid, tid, name, company, vip, language, into, phones, emails, at), links


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
