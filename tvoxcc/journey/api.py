"""One call per question, for the CLI, the demo and the web API.

On a tenant session (``async with store.tenant(tenant_id) as session``)::

    timeline = await journey_for(session, "+39 02 1234 5678", channels=("voice",), since=None, until=None)
    timeline.to_json()                      # the web API's body
    pop = await screen_pop_for(session, "anna@example.com")    # the summary an agent sees on an offer
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.repository import tenant_id_of
from tvoxcc.journey.contacts import (
    ContactNotFound,
    DuplicateGroup,
    JourneyError,
    MergeError,
    Ref,
    Reliability,
    find_duplicates,
    parse_ref,
    reliability,
)
from tvoxcc.journey.history import load_rows
from tvoxcc.journey.merge import MergeResult, merge
from tvoxcc.journey.screen_pop import ScreenPop, screen_pop
from tvoxcc.journey.store import (
    contact_and_family,
    contacts_of_period,
    find_contact_id,
    interaction_counts,
    load_contacts,
    tenant_country,
)
from tvoxcc.journey.timeline import Timeline, build_timeline
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

ANY_COUNTRY = "IT"  # a country for the first parse of a reference (see _parse)


async def journey_for(
    session: AsyncSession,
    contact_ref: str,
    *,
    channels: Collection[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
) -> Timeline:
    """The timeline of a contact id, phone number (any format) or e-mail, newest first.

    A merged contact's id gives its survivor's timeline. A phone or e-mail no contact has gives the
    interactions from or to that address (an unknown caller's calls); none at all is ContactNotFound.
    Raises JourneyError (one-line message) on a bad reference or filter.
    """
    ref = await _parse(session, contact_ref)
    # An id is checked by contact_and_family's own read: no lookup of its own.
    contact_id = ref.contact_id if ref.contact_id is not None else await find_contact_id(session, ref)
    try:
        if contact_id is None:
            if ref.contact_id is not None:
                raise ContactNotFound(f"no contact {ref.contact_id}")
            address = str(ref.phone or ref.email)
            rows = await load_rows(session, (), [address])
            if not (rows.interactions or rows.callbacks):
                raise ContactNotFound(f"no contact and no interaction for {address}")
            return build_timeline(rows, address=address, channels=channels, since=since, until=until)
        survivor, family = await contact_and_family(session, contact_id)
        rows = await load_rows(session, family, [*survivor.phones, *survivor.emails])
        return build_timeline(
            rows,
            contact=survivor,
            asked_id=contact_id,
            merged=family - {survivor.id},
            channels=channels,
            since=since,
            until=until,
        )
    except ValueError as exc:  # an unknown channel
        raise JourneyError(str(exc)) from exc


async def _parse(session: AsyncSession, contact_ref: str) -> Ref:
    """The reference, reading the tenant's country only for a phone number: an id or an e-mail parses the
    same whatever the country, so the first parse with any country settles them."""
    with contextlib.suppress(JourneyError):
        ref = parse_ref(contact_ref, ANY_COUNTRY)
        if ref.phone is None:
            return ref
    return parse_ref(contact_ref, await tenant_country(session))


async def screen_pop_for(session: AsyncSession, contact_ref: str, *, last: int = 3) -> ScreenPop:
    """The journey summary an agent needs when a call or ticket is offered."""
    return screen_pop(await journey_for(session, contact_ref), last=last)


async def merge_contacts(
    store: Store, tenant: str, survivor_ref: str, duplicate_ref: str, now: datetime
) -> MergeResult:
    """Merge two contacts of ``tenant`` named by id, phone or e-mail; refuses across tenants (clear error)."""
    tenant_id = await tenant_id_of(store, tenant)
    async with store.tenant(tenant_id) as session:
        country = await tenant_country(session)
        ids = []
        for text in (survivor_ref, duplicate_ref):
            ref = parse_ref(text, country)
            found = await find_contact_id(session, ref)
            if found is None:
                raise ContactNotFound(await _not_here(store, tenant, ref.contact_id, text))
            ids.append(found)
        result = await merge(session, ids[0], ids[1], now)
        await session.commit()
    return result


async def _not_here(store: Store, tenant: str, contact_id: int | None, text: str) -> str:
    if contact_id is not None:
        async with store.session() as session:  # the only unscoped read: to say why, not to act
            other = await session.get(m.Contact, contact_id)
        if other is not None:
            return f"contact {contact_id} belongs to another tenant: cannot merge it across tenants"
    return f"no contact {text!r} in tenant {tenant!r}"


async def duplicates(session: AsyncSession) -> list[DuplicateGroup]:
    """Contacts sharing a phone or e-mail once normalised (merged ones left out)."""
    country = await tenant_country(session)
    contacts = await load_contacts(session, m.Contact.merged_into_id.is_(None))
    return find_duplicates(contacts.values(), country)


async def address_book_reliability(session: AsyncSession, start: datetime, end: datetime) -> Reliability:
    """Share of the interactions offered in [start, end) matched to a known contact (see ``is_known``)."""
    return reliability(await interaction_counts(session, start, end), await contacts_of_period(session, start, end))


async def reliability_of_days(store: Store, tenant: str, first: date, last: date) -> Reliability:
    """Address-book reliability over the tenant's local days ``first`` .. ``last`` (for Insight and the CLI)."""
    if first > last:
        raise AdminError(f"--from {first.isoformat()} is after --to {last.isoformat()}")
    tenant_id = await tenant_id_of(store, tenant)
    async with store.tenant(tenant_id) as session:
        zone = (await session.execute(select(m.Tenant.timezone))).scalar_one()
        start, end = local_days(first, last, ZoneInfo(zone or "UTC"))
        return await address_book_reliability(session, start, end)


def parse_day(value: str | None, name: str) -> date | None:
    """A local day given as YYYY-MM-DD by the option or parameter ``name``; None when not given."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise JourneyError(f"{name} {value[:40]!r} is not a date: use YYYY-MM-DD") from None


def parse_period(
    first: str | None, last: str | None, names: tuple[str, str] = ("--from", "--to")
) -> tuple[date | None, date | None]:
    """The first and last local days of a journey filter (either may be open), in order."""
    start, end = parse_day(first, names[0]), parse_day(last, names[1])
    if start and end and start > end:
        raise JourneyError(f"{names[0]} {start.isoformat()} is after {names[1]} {end.isoformat()}")
    return start, end


def day_bounds(first: date | None, last: date | None, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """``since``/``until`` of a journey filter from local days, either end open when not given."""
    since = local_days(first, first, tz)[0] if first else None
    until = local_days(last, last, tz)[1] if last else None
    return since, until


def local_days(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[first local midnight, the local midnight after ``last``) in UTC."""
    start = datetime(first.year, first.month, first.day, tzinfo=tz)
    after = last + timedelta(days=1)
    return start.astimezone(UTC), datetime(after.year, after.month, after.day, tzinfo=tz).astimezone(UTC)


__all__ = [
    "ContactNotFound",
    "JourneyError",
    "MergeError",
    "address_book_reliability",
    "day_bounds",
    "duplicates",
    "journey_for",
    "merge_contacts",
    "parse_day",
    "parse_period",
    "reliability_of_days",
    "screen_pop_for",
]
