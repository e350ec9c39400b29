"""Who is calling or writing: the one contact lookup of every channel adapter (voice, AGI, mail, the journey).

Phones are matched in E.164 (normalise with the tenant's country first: ``tvoxcc.journey.phones.to_e164``),
e-mail addresses as stored (the mail channel stores them case-folded). A merged duplicate resolves to its
survivor (``tvoxcc.journey.contacts``: a merge moves the addresses too, so this matters for rows older than
the merge). On a tenant-scoped session (``Store.tenant(id)``): a fixed number of queries per batch of
addresses, however many there are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.store import models as m
from tvoxcc.store.precompiled import Precompiled
from tvoxcc.support.status import TicketStatus

CHUNK = 500  # values per IN (...): far below SQLite's and PostgreSQL's bound-parameter limits


@dataclass(frozen=True, slots=True)
class ContactMatch:
    """The contact an address belongs to (the survivor, when it was merged)."""

    contact_id: int
    display_name: str
    language: str | None
    vip: bool


async def _pairs(session: AsyncSession, key: Any, owner: Any, values: Iterable[str]) -> list[tuple[str, int]]:
    wanted = sorted(set(values))
    rows: list[tuple[str, int]] = []
    for start in range(0, len(wanted), CHUNK):
        where: ColumnElement[bool] = key.in_(wanted[start : start + CHUNK])
        rows.extend((str(k), int(v)) for k, v in (await session.execute(select(key, owner).where(where))).all())
    return rows


async def phone_owners(session: AsyncSession, numbers: Iterable[str]) -> dict[str, int]:
    """The contact id each number is stored on (before following merges); unknown numbers are left out."""
    return dict(await _pairs(session, m.ContactPhone.number, m.ContactPhone.contact_id, numbers))


async def email_owners(session: AsyncSession, emails: Iterable[str], *, fold_case: bool = False) -> dict[str, int]:
    """The contact id each address is stored on (before following merges). ``fold_case``: an address not stored
    as given is also looked for in any case (an import may have kept capitals; the lowest row id wins)."""
    wanted = set(emails)
    found = dict(await _pairs(session, m.ContactEmail.email, m.ContactEmail.contact_id, wanted))
    missing = {e.casefold(): e for e in wanted - set(found)} if fold_case else {}
    if missing:
        lowered = func.lower(m.ContactEmail.email)
        rows = await session.execute(
            select(m.ContactEmail.id, lowered, m.ContactEmail.contact_id).where(lowered.in_(sorted(missing)))
        )
        for _, address, contact_id in sorted(rows.all(), reverse=True):  # the lowest id last: it wins
            found[missing[address]] = contact_id
    return found


async def survivors(session: AsyncSession, contact_ids: Iterable[int]) -> dict[int, ContactMatch]:
    """Each id with the contact it stands for today, through any chain of merges (ids of no contact are left
    out). One query per link of the longest chain: merges are rare and chains short."""
    c = m.Contact
    rows: dict[int, tuple[int | None, ContactMatch]] = {}
    todo = set(contact_ids)
    while todo:
        found = await session.execute(
            select(c.id, c.merged_into_id, c.display_name, c.language, c.vip).where(c.id.in_(sorted(todo)))
        )
        for cid, into, name, language, vip in found.all():
            rows[cid] = (into, ContactMatch(cid, name, language, bool(vip)))
        todo = {into for into, _ in rows.values() if into is not None} - set(rows)
    out: dict[int, ContactMatch] = {}
    for start in contact_ids:
        current, seen = start, set()
        while current in rows and rows[current][0] is not None and current not in seen:
            seen.add(current)
            current = rows[current][0]  # type: ignore[assignment]
        if current in rows:
            out[start] = rows[current][1]
    return out


async def _matches(session: AsyncSession, key: Any, owner: Any, values: Iterable[str]) -> dict[str, ContactMatch]:
    """Each value's contact with its owner's row in the same query: one query when nobody is merged (the call
    path's case), one more per link of merges otherwise."""
    c = m.Contact
    query = select(key, c.id, c.merged_into_id, c.display_name, c.language, c.vip).join(c, c.id == owner)
    wanted = sorted(set(values))
    found: dict[str, ContactMatch] = {}
    merged: dict[str, int] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = await session.execute(query.where(key.in_(wanted[start : start + CHUNK])))
        for value, cid, into, name, language, vip in rows.all():
            if into is None:
                found[value] = ContactMatch(cid, name, language, bool(vip))
            else:
                merged[value] = cid
    if merged:
        survivor = await survivors(session, merged.values())
        found.update((value, survivor[cid]) for value, cid in merged.items() if cid in survivor)
    return found


async def contacts_by_phone(session: AsyncSession, numbers: Iterable[str]) -> dict[str, ContactMatch]:
    return await _matches(session, m.ContactPhone.number, m.ContactPhone.contact_id, numbers)


async def contacts_by_email(session: AsyncSession, emails: Iterable[str]) -> dict[str, ContactMatch]:
    return await _matches(session, m.ContactEmail.email, m.ContactEmail.contact_id, emails)


async def contact_by_phone(session: AsyncSession, number: str) -> ContactMatch | None:
    """The caller of ``number`` (E.164), or None when nobody has it."""
    return (await contacts_by_phone(session, [number])).get(number)


async def open_ticket_count(session: AsyncSession, contact_id: int) -> int:
    """The contact's tickets not resolved yet (what the IVR and the phone's screen see as open)."""
    query = select(func.count()).where(m.Ticket.contact_id == contact_id, m.Ticket.status.in_(TicketStatus.WORKING))
    return int((await session.execute(query)).scalar_one())


@dataclass(frozen=True, slots=True)
class CallerCard:
    """What a call needs of its caller before the IVR starts (the survivor's, when it was merged)."""

    contact_id: int
    language: str | None
    vip: bool
    open_tickets: int  # tickets not resolved yet


# One prebuilt query a call, filtered to the tenant by hand: every call waits for it, and the ORM's session,
# entity loading and statement building cost more than the lookup (0.72 -> 0.33 ms CPU a call); on SQLite it
# runs as its SQL text (tvoxcc.store.precompiled: 0.28 -> 0.02 ms). The open statuses are written into the
# statement (constants: a bound IN would be expanded at every execution).
_OPEN_TICKETS = (
    select(func.count())
    .where(
        m.Ticket.tenant_id == bindparam("tenant"),
        m.Ticket.contact_id == m.Contact.id,
        m.Ticket.status.in_([literal_column(f"'{status.value}'") for status in sorted(TicketStatus.WORKING)]),
    )
    .scalar_subquery()
    .label("open_tickets")
)
_CARD = select(m.Contact.id, m.Contact.language, m.Contact.vip, m.Contact.merged_into_id, _OPEN_TICKETS)
_BY_PHONE = Precompiled(
    _CARD.join(m.ContactPhone, m.ContactPhone.contact_id == m.Contact.id).where(
        m.ContactPhone.tenant_id == bindparam("tenant"),
        m.ContactPhone.number == bindparam("number"),
        m.Contact.tenant_id == bindparam("tenant"),
    )
)
_BY_ID = Precompiled(_CARD.where(m.Contact.tenant_id == bindparam("tenant"), m.Contact.id == bindparam("contact")))


def caller_card(conn: Connection, tenant_id: int, number: str) -> CallerCard | None:
    """The caller of ``number`` (E.164) in ``tenant_id``, merges followed; None when nobody has it. On a plain
    connection: the voice service runs it in one hop to the database's thread (tvoxcc.store.one_hop)."""
    rows = _BY_PHONE.rows(conn, {"tenant": tenant_id, "number": number})
    while rows and rows[0][3] is not None:  # merged into another contact: that one's card
        rows = _BY_ID.rows(conn, {"tenant": tenant_id, "contact": rows[0][3]})
    if not rows:
        return None
    contact_id, language, vip, _merged, open_tickets = rows[0]
    return CallerCard(int(contact_id), language, bool(vip), int(open_tickets or 0))
