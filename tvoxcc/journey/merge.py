"""Merging a duplicate contact into its survivor, in one tenant-scoped transaction, history kept.

Nothing is deleted but a phone or e-mail row the survivor already has in its normal form (the log
keeps it). The duplicate row stays, marked ``merged_into``; every interaction, ticket and callback that
pointed at it points at the survivor; the ``contact_merges`` row lists what moved, so a merge can be
traced (or undone by hand) later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.journey.contacts import ContactNotFound, check_merge, is_known, normalise_email, normalise_phone
from tvoxcc.journey.store import load_contacts, tenant_country
from tvoxcc.store import models as m
from tvoxcc.store.tenancy import session_tenant


@dataclass(frozen=True, slots=True)
class MergeResult:
    survivor_id: int
    duplicate_id: int
    interactions: int
    tickets: int
    callbacks: int
    phones: int
    emails: int

    def to_json(self) -> dict[str, int]:
        return {
            "survivor": self.survivor_id,
            "duplicate": self.duplicate_id,
            "interactions": self.interactions,
            "tickets": self.tickets,
            "callbacks": self.callbacks,
            "phones": self.phones,
            "emails": self.emails,
        }


async def _repoint(session: AsyncSession, model: Any, duplicate: int, survivor: int) -> list[int]:
    ids = [int(i) for i in (await session.execute(select(model.id).where(model.contact_id == duplicate))).scalars()]
    if ids:
        await session.execute(
            update(model)
            .where(model.id.in_(ids))
            .values(contact_id=survivor)
            .execution_options(synchronize_session=False)
        )
    return ids


async def merge(session: AsyncSession, survivor_id: int, duplicate_id: int, now: datetime) -> MergeResult:
    """Merge ``duplicate_id`` into ``survivor_id`` on a tenant session; the caller commits."""
    tenant_id = session_tenant(session.sync_session)
    if tenant_id is None:
        raise ValueError("merge needs a tenant session (Store.tenant(id))")
    contacts = await load_contacts(session, m.Contact.id.in_({survivor_id, duplicate_id}))
    for cid in (survivor_id, duplicate_id):
        if cid not in contacts:
            raise ContactNotFound(f"no contact {cid} in this tenant")
    survivor, duplicate = contacts[survivor_id], contacts[duplicate_id]
    check_merge(survivor, duplicate, tenant_id)
    country = await tenant_country(session)
    moved: dict[str, Any] = {
        "interactions": await _repoint(session, m.Interaction, duplicate_id, survivor_id),
        "tickets": await _repoint(session, m.Ticket, duplicate_id, survivor_id),
        "callbacks": await _repoint(session, m.Callback, duplicate_id, survivor_id),
    }
    moved["phones"], moved["dropped_phones"] = await _move_addresses(
        session,
        m.ContactPhone,
        "number",
        lambda v: normalise_phone(v, country),
        survivor.phones,
        duplicate_id,
        survivor_id,
    )
    moved["emails"], moved["dropped_emails"] = await _move_addresses(
        session, m.ContactEmail, "email", normalise_email, survivor.emails, duplicate_id, survivor_id
    )
    # Contacts merged earlier into the duplicate now point at the survivor: chains stay one link long.
    moved["merged"] = [
        int(i)
        for i in (await session.execute(select(m.Contact.id).where(m.Contact.merged_into_id == duplicate_id))).scalars()
    ]
    if moved["merged"]:
        await session.execute(
            update(m.Contact).where(m.Contact.id.in_(moved["merged"])).values(merged_into_id=survivor_id)
        )
    rows = {c.id: c for c in (await session.execute(select(m.Contact).where(m.Contact.id.in_(contacts)))).scalars()}
    keep, gone = rows[survivor_id], rows[duplicate_id]
    moved["filled"] = _fill(keep, gone, is_known(survivor), is_known(duplicate))
    gone.merged_into_id = survivor_id
    session.add(m.ContactMerge(survivor_id=survivor_id, duplicate_id=duplicate_id, merged_at=now, moved=moved))
    await session.flush()
    return MergeResult(
        survivor_id,
        duplicate_id,
        len(moved["interactions"]),
        len(moved["tickets"]),
        len(moved["callbacks"]),
        len(moved["phones"]),
        len(moved["emails"]),
    )


async def _move_addresses(
    session: AsyncSession,
    model: Any,
    column: str,
    normal: Any,
    survivor_has: tuple[str, ...],
    duplicate_id: int,
    survivor_id: int,
) -> tuple[list[str], list[str]]:
    """Move the duplicate's phones (or e-mails) to the survivor, stored in normal form where that is free."""
    have = {normal(v) or v for v in survivor_has}
    rows = (await session.execute(select(model).where(model.contact_id == duplicate_id))).scalars().all()
    forms = {normal(getattr(r, column)) for r in rows} - {None}
    col = getattr(model, column)
    taken = set((await session.execute(select(col).where(col.in_(forms)))).scalars()) if forms else set()
    moved, dropped = [], []
    for row in rows:
        value = getattr(row, column)
        form = normal(value) or value
        if form in have:
            dropped.append(value)
            await session.execute(delete(model).where(model.id == row.id))
            continue
        row.contact_id = survivor_id
        if form != value and form not in taken:
            setattr(row, column, form)
        have.add(form)
        moved.append(value)
    return moved, dropped


def _fill(keep: m.Contact, gone: m.Contact, keep_known: bool, gone_known: bool) -> list[str]:
    """What the survivor lacks and the duplicate knows: name, company, language, VIP."""
    filled = []
    if not keep_known and gone_known and gone.display_name.strip():
        keep.display_name = gone.display_name
        filled.append("display_name")
    if not keep.company and gone.company:
        keep.company = gone.company
        filled.append("company")
    if keep.language is None and gone.language is not None:
        keep.language = gone.language
        filled.append("language")
    if gone.vip and not keep.vip:
        keep.vip = True
        filled.append("vip")
    return filled
