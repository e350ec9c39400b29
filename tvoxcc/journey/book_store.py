"""The address book in the store, on a tenant-scoped session (``Store.tenant(id)``); the caller commits.

One contacts model (``tvoxcc.store.models.contacts``) and one lookup (``tvoxcc.journey.identify``): a
phone or e-mail belongs to one contact of a tenant, whether an admin typed it, an import brought it or the
mail channel saw it first; adding it to a second contact is refused, naming the first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from tvoxcc.journey.book import BookError, ContactChanges, ContactFields, CsvRead, located, taken_problems
from tvoxcc.journey.contacts import ContactNotFound, merged_family, parse_ref
from tvoxcc.journey.identify import email_owners, phone_owners
from tvoxcc.journey.rows import ContactRow
from tvoxcc.journey.store import contact_and_family, find_contact_id, load_contacts, tenant_country
from tvoxcc.store import models as m
from tvoxcc.store.bulk import insert_rows, insert_rows_with_ids
from tvoxcc.store.tenancy import session_tenant

TAKEN = "a phone or e-mail of this contact was just given to another contact: try again"


async def find_contact(session: AsyncSession, text: str) -> ContactRow:
    """The contact (the survivor, when merged) a reference names: an id, a phone in any format, an e-mail."""
    ref = parse_ref(text, await tenant_country(session))
    contact_id = await find_contact_id(session, ref)
    if contact_id is None:
        raise ContactNotFound(f"no contact {text.strip()[:60]!r}")
    survivor, _ = await contact_and_family(session, contact_id)
    return (await load_contacts(session, m.Contact.id == survivor.id))[survivor.id]


async def owners(session: AsyncSession, phones: Iterable[str], emails: Iterable[str]) -> dict[str, int]:
    """Which contact each phone (E.164) and e-mail is stored on already."""
    found = await phone_owners(session, phones)
    found.update(await email_owners(session, emails, fold_case=True))
    return found


async def list_contacts(session: AsyncSession) -> list[ContactRow]:
    """Every contact but merged duplicates, by id."""
    contacts = await load_contacts(session, m.Contact.merged_into_id.is_(None))
    return [contacts[cid] for cid in sorted(contacts)]


def _new_row(fields: ContactFields) -> m.Contact:
    contact = m.Contact(
        display_name=fields.name,
        company=fields.company,
        vip=fields.vip,
        language=fields.language,
        notes=fields.notes,
    )
    contact.phones = [m.ContactPhone(number=p) for p in fields.phones]
    contact.emails = [m.ContactEmail(email=e) for e in fields.emails]
    return contact


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError:  # a concurrent writer took an address between our check and our insert
        raise BookError(TAKEN) from None


async def add_contact(session: AsyncSession, fields: ContactFields) -> ContactRow:
    taken = await owners(session, fields.phones, fields.emails)
    if taken:
        raise BookError(*(f"{key} already belongs to contact {cid}" for key, cid in taken.items()))
    contact = _new_row(fields)
    session.add(contact)
    await _flush(session)
    return (await load_contacts(session, m.Contact.id == contact.id))[contact.id]


async def import_contacts(session: AsyncSession, read: CsvRead, source: str) -> list[int]:
    """All the file's contacts, or none: BookError listing every bad row (``file:line: what``), those whose
    address is taken included."""
    phones = [p for e in read.entries for p in e.fields.phones]
    emails = [a for e in read.entries for a in e.fields.emails]
    problems = read.problems + taken_problems(read.entries, await owners(session, phones, emails))
    if problems:
        raise BookError(*located(problems, source))
    tenant_id = session_tenant(session.sync_session)
    contacts = [
        {"tenant_id": tenant_id, "display_name": f.name, "company": f.company, "vip": f.vip, "language": f.language,
         "notes": f.notes}
        for f in (e.fields for e in read.entries)
    ]  # fmt: skip
    try:  # bulk INSERTs (tvoxcc.store.bulk): the ORM's unit of work took a minute for 10,000 contacts
        ids = await insert_rows_with_ids(session, _table(m.Contact), contacts)
        pairs = list(zip(ids, (e.fields for e in read.entries), strict=True))
        phone_rows = [{"tenant_id": tenant_id, "contact_id": cid, "number": p} for cid, f in pairs for p in f.phones]
        email_rows = [{"tenant_id": tenant_id, "contact_id": cid, "email": e} for cid, f in pairs for e in f.emails]
        await insert_rows(session, _table(m.ContactPhone), phone_rows)
        await insert_rows(session, _table(m.ContactEmail), email_rows)
    except IntegrityError:  # a concurrent writer took an id or an address meanwhile
        raise BookError(TAKEN) from None
    return ids


def _table(model: type[m.Base]) -> Table:
    return cast(Table, model.__table__)


async def update_contact(session: AsyncSession, contact_id: int, changes: ContactChanges) -> ContactRow:
    """Apply checked changes (``book.check_changes``) to a contact; BookError naming every refused one."""
    contact = (
        await session.execute(
            select(m.Contact)
            .where(m.Contact.id == contact_id)
            .options(selectinload(m.Contact.phones), selectinload(m.Contact.emails))
        )
    ).scalar_one_or_none()
    if contact is None:
        raise ContactNotFound(f"no contact {contact_id}")
    problems = []
    has_phones, has_emails = {p.number for p in contact.phones}, {e.email.casefold() for e in contact.emails}
    problems += [f"contact {contact_id} has no phone {p}" for p in changes.drop_phones if p not in has_phones]
    problems += [f"contact {contact_id} has no e-mail {e}" for e in changes.drop_emails if e not in has_emails]
    taken = await owners(session, changes.add_phones, changes.add_emails)
    problems += [f"{key} already belongs to contact {cid}" for key, cid in taken.items() if cid != contact_id]
    if problems:
        raise BookError(*problems)
    for name in ("company", "vip", "notes"):
        if (value := getattr(changes, name)) is not None:
            setattr(contact, name, value)
    if changes.name is not None:
        contact.display_name = changes.name
    if changes.language is not None:
        contact.language = changes.language or None
    contact.phones = [p for p in contact.phones if p.number not in changes.drop_phones]
    contact.phones += [m.ContactPhone(number=p) for p in changes.add_phones if p not in has_phones]
    contact.emails = [e for e in contact.emails if e.email.casefold() not in changes.drop_emails]
    contact.emails += [m.ContactEmail(email=e) for e in changes.add_emails if e not in has_emails]
    if not (contact.display_name or contact.phones or contact.emails):
        raise BookError(f"contact {contact_id} would have no name, phone or e-mail left")
    await _flush(session)
    return (await load_contacts(session, m.Contact.id == contact_id))[contact_id]


async def family_of(session: AsyncSession, contact_id: int) -> set[int]:
    """The contact and every contact merged into it."""
    merged = select(m.Contact.id, m.Contact.merged_into_id).where(m.Contact.merged_into_id.is_not(None))
    links: dict[int, int | None] = {int(a): b for a, b in (await session.execute(merged)).all()}
    return merged_family(links, contact_id)


async def drop_contacts(session: AsyncSession, family: set[int]) -> dict[str, int]:
    """Delete contacts (a survivor and its merged duplicates) with their addresses and merge log; the history
    that pointed at them stays, as an unknown caller's or sender's. Counts of what was unlinked."""
    ids = sorted(family)
    counts: dict[str, int] = {}
    for model, name in ((m.Interaction, "interactions"), (m.Ticket, "tickets"), (m.Callback, "callbacks")):
        model_: Any = model
        result: Any = await session.execute(
            update(model_).where(model_.contact_id.in_(ids)).values(contact_id=None)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        counts[name] = int(result.rowcount or 0)
    merges = or_(m.ContactMerge.survivor_id.in_(ids), m.ContactMerge.duplicate_id.in_(ids))
    await session.execute(delete(m.ContactMerge).where(merges).execution_options(synchronize_session=False))
    await session.execute(delete(m.ContactPhone).where(m.ContactPhone.contact_id.in_(ids)))
    await session.execute(delete(m.ContactEmail).where(m.ContactEmail.contact_id.in_(ids)))
    await session.execute(update(m.Contact).where(m.Contact.id.in_(ids)).values(merged_into_id=None))
    await session.execute(delete(m.Contact).where(m.Contact.id.in_(ids)).execution_options(synchronize_session=False))
    counts["contacts"] = len(ids)
    return counts


async def remove_contact(session: AsyncSession, contact_id: int) -> dict[str, int]:
    return await drop_contacts(session, await family_of(session, contact_id))
