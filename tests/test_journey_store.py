"""The journey's store side on SQLite and PostgreSQL: lookups, tenant isolation, merges, duplicates, reliability."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select

from tests.journey_data import PHONE, UNKNOWN, Seeded, seed, t
from tvoxcc.journey.api import (
    address_book_reliability,
    duplicates,
    journey_for,
    merge_contacts,
    reliability_of_days,
    screen_pop_for,
)
from tvoxcc.journey.contacts import ContactNotFound, JourneyError, MergeError
from tvoxcc.journey.entries import Call, CallbackEntry, TicketEntry
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


@pytest.fixture
async def seeded(store: Store) -> Seeded:
    return await seed(store)


@contextmanager
def counting(store: Store) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(store.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", count)


async def test_a_phone_in_any_format_gives_the_contacts_journey(store: Store, seeded: Seeded) -> None:
    async with store.tenant(seeded.tenant) as s:
        timeline = await journey_for(s, "02 1234 5678")
    assert timeline.contact is not None and timeline.contact.id == seeded.anna and timeline.contact.vip
    calls = [e for e in timeline.entries if isinstance(e, Call)]
    assert [c.interaction_id for c in calls] == seeded.calls[::-1]  # newest first
    first = calls[-1]
    assert (first.queue, first.agent, first.wait_s, first.talk_s) == ("sales-it", "mario", 30.0, 120.0)
    assert (first.ivr_path, first.digits, first.nps, first.recording) == (("welcome", "menu"), "2", 9, "rec-0.wav")
    assert (first.service, first.outcome) == ("sales", "answered")
    abandoned = calls[0]
    assert (abandoned.outcome, abandoned.queue, abandoned.agent, abandoned.wait_s) == (
        "abandoned",
        "sales-it",
        None,
        60.0,
    )
    # the other tenant's call from the same number is not there
    assert len(timeline.entries) == 2


async def test_by_id_and_by_email_case_folded(store: Store, seeded: Seeded) -> None:
    async with store.tenant(seeded.tenant) as s:
        by_id = await journey_for(s, str(seeded.anna))
        by_mail = await journey_for(s, "Anna@Example.com")
    assert by_id.contact == by_mail.contact
    assert by_id.to_json()["entries"] == by_mail.to_json()["entries"]


async def test_an_unknown_caller_by_number(store: Store, seeded: Seeded) -> None:
    async with store.tenant(seeded.tenant) as s:
        timeline = await journey_for(s, "02 5555 5555")
        pop = await screen_pop_for(s, UNKNOWN)
    assert timeline.contact is None and timeline.address == UNKNOWN
    call = timeline.entries[0]
    assert isinstance(call, Call) and (call.interaction_id, call.outcome) == (seeded.unknown_call, "abandoned")
    assert call.outcome_detail == "abandoned-in-ivr" and pop.contacts == 1 and not pop.vip


async def test_not_found_and_bad_filters(store: Store, seeded: Seeded) -> None:
    async with store.tenant(seeded.tenant) as s:
        with pytest.raises(ContactNotFound, match="no contact 999"):
            await journey_for(s, "999")
        with pytest.raises(ContactNotFound, match=r"no contact and no interaction for \+390244444444"):
            await journey_for(s, "02 4444 4444")
        with pytest.raises(ContactNotFound, match=f"no contact {seeded.other}"):
            await journey_for(s, str(seeded.other))  # the other tenant's contact
        with pytest.raises(JourneyError, match="unknown channel 'fax'"):
            await journey_for(s, PHONE, channels=("fax",))


async def test_filters_by_channel_and_date(store: Store, seeded: Seeded) -> None:
    await merge_contacts(store, "acme", str(seeded.anna), str(seeded.dup), t(13, 0))
    async with store.tenant(seeded.tenant) as s:
        mail = await journey_for(s, PHONE, channels=("mail",))
        day = await journey_for(s, PHONE, since=t(11, 0), until=t(12, 0))
    assert [e.kind for e in mail.entries] == ["ticket"]
    assert [e.kind for e in day.entries] == ["ticket"]


async def test_merge_moves_every_interaction_and_keeps_the_duplicate(store: Store, seeded: Seeded) -> None:
    async with store.session() as s:
        before = (await s.execute(select(func.count()).select_from(m.Interaction))).scalar_one()
    result = await merge_contacts(store, "acme", PHONE, str(seeded.dup), t(13, 0))
    assert (result.survivor_id, result.duplicate_id) == (seeded.anna, seeded.dup)
    assert (result.interactions, result.tickets, result.callbacks, result.phones, result.emails) == (1, 1, 1, 1, 0)
    async with store.tenant(seeded.tenant) as s:
        after = (await s.execute(select(func.count()).select_from(m.Interaction))).scalar_one()
        dup = await s.get(m.Contact, seeded.dup)
        anna_ids = set(
            (await s.execute(select(m.Interaction.id).where(m.Interaction.contact_id == seeded.anna))).scalars()
        )
        phones = set(
            (await s.execute(select(m.ContactPhone.number).where(m.ContactPhone.contact_id == seeded.anna))).scalars()
        )
        log = (await s.execute(select(m.ContactMerge))).scalar_one()
        timeline = await journey_for(s, str(seeded.dup))  # the merged id still resolves
    async with store.session() as s:
        assert (await s.execute(select(func.count()).select_from(m.Interaction))).scalar_one() == before
    assert after == before - 1  # the other tenant's one is not counted in acme's session
    assert dup is not None and dup.merged_into_id == seeded.anna
    assert anna_ids == {*seeded.calls, seeded.mail}
    assert phones == {PHONE, "+393331112222"}  # moved in E.164; "02 1234 5678" was the same number
    assert log.moved["interactions"] == [seeded.mail] and log.moved["dropped_phones"] == ["02 1234 5678"]
    assert log.moved["dropped_emails"] == ["ANNA@example.com"]
    assert timeline.contact is not None and timeline.contact.id == seeded.anna
    assert timeline.asked_id == seeded.dup and timeline.merged == (seeded.dup,)
    kinds = {type(e) for e in timeline.entries}
    assert kinds == {Call, TicketEntry, CallbackEntry} and len(timeline.entries) == 4
    pop = await _pop(store, seeded, str(seeded.dup))
    assert [x.number for x in pop.open_tickets] == [1001] and pop.last_agent == "luigi"
    assert pop.pending_callbacks == 1 and pop.nps_last == 9


async def _pop(store: Store, seeded: Seeded, ref: str) -> Any:
    async with store.tenant(seeded.tenant) as s:
        return await screen_pop_for(s, ref)


@pytest.mark.parametrize(
    ("survivor", "duplicate", "message"),
    [
        ("anna", "anna", "cannot merge contact {anna} into itself"),
        ("anna", "other", "contact {other} belongs to another tenant: cannot merge it across tenants"),
        ("anna", "999", "no contact '999' in tenant 'acme'"),
    ],
)
async def test_merge_refusals(store: Store, seeded: Seeded, survivor: str, duplicate: str, message: str) -> None:
    ids = {"anna": str(seeded.anna), "other": str(seeded.other), "999": "999"}
    with pytest.raises(MergeError if "itself" in message else ContactNotFound) as caught:
        await merge_contacts(store, "acme", ids[survivor], ids[duplicate], t(13, 0))
    assert str(caught.value) == message.format(anna=seeded.anna, other=seeded.other)


async def test_merge_into_a_merged_contact_is_refused_and_nothing_changes(store: Store, seeded: Seeded) -> None:
    await merge_contacts(store, "acme", str(seeded.anna), str(seeded.dup), t(13, 0))
    async with store.tenant(seeded.tenant) as s:
        third = m.Contact(display_name="Third")
        s.add(third)
        await s.commit()
    with pytest.raises(MergeError, match=f"contact {seeded.dup} is already merged into contact {seeded.anna}"):
        await merge_contacts(store, "acme", str(seeded.dup), str(third.id), t(13, 0))
    with pytest.raises(MergeError, match=f"contact {seeded.dup} is already merged"):
        await merge_contacts(store, "acme", str(third.id), str(seeded.dup), t(13, 0))
    async with store.tenant(seeded.tenant) as s:
        assert (await s.execute(select(func.count()).select_from(m.ContactMerge))).scalar_one() == 1


async def test_duplicates_and_reliability(store: Store, seeded: Seeded) -> None:
    async with store.tenant(seeded.tenant) as s:  # our own replies and internal calls are not counted
        s.add(m.Interaction(channel="mail", direction="outbound", to_address="x@y.it", offered_at=t(11, 0)))
        s.add(m.Interaction(channel="voice", direction="internal", from_address="201", offered_at=t(11, 0)))
        await s.commit()
    async with store.tenant(seeded.tenant) as s:
        groups = await duplicates(s)
        before = await address_book_reliability(s, t(10, 0), t(13, 0))
    assert [(g.key, g.contact_ids) for g in groups] == [
        ("+390212345678", (seeded.anna, seeded.dup)),
        ("anna@example.com", (seeded.anna, seeded.dup)),
    ]
    # 2 calls of Anna (known), 1 mail of the nameless duplicate, 1 unknown caller
    assert (before.interactions, before.matched, before.known) == (4, 3, 2)
    await merge_contacts(store, "acme", str(seeded.anna), str(seeded.dup), t(13, 0))
    after = await reliability_of_days(store, "acme", t(10, 0).date(), t(12, 0).date())
    assert (after.interactions, after.matched, after.known) == (4, 3, 3)
    async with store.tenant(seeded.tenant) as s:
        assert await duplicates(s) == []


async def test_a_fixed_number_of_queries_whatever_the_history(store: Store) -> None:
    small = await seed(store, extra_calls=0)
    with counting(store) as few:
        async with store.tenant(small.tenant) as s:
            await journey_for(s, PHONE)
    async with store.session() as s:  # twenty more calls with their events
        for n in range(20):
            call = m.Interaction(tenant_id=small.tenant, channel="voice", contact_id=small.anna, offered_at=t(20, 0, n))
            s.add(call)
            await s.flush()
            s.add(
                m.InteractionEvent(tenant_id=small.tenant, interaction_id=call.id, kind="queued", data={"queue": "q"})
            )
        await s.commit()
    with counting(store) as many:
        async with store.tenant(small.tenant) as s:
            timeline = await journey_for(s, PHONE)
    assert len(timeline.entries) == 22
    # the country, the phone's contact, the contact with its addresses and merges, the journey's rows
    assert len(many) == len(few) == 4, many
    with counting(store) as by_id:
        async with store.tenant(small.tenant) as s:
            assert len((await journey_for(s, str(small.anna))).entries) == 22
    assert len(by_id) == 2, by_id  # an id needs neither the country nor a lookup
