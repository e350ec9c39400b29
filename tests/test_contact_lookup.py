"""One contact lookup and one callback request for every adapter (voice, AGI, mail), on both stores.

A duplicate merged into a survivor may still hold an address (a row older than the merge): every channel
must then see the survivor, and a callback asked for from voice or from AGI must be the same kind of row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.cli import Tvox
from tvoxcc.agi.routes.store import CallStore
from tvoxcc.journey.identify import contacts_by_email, contacts_by_phone, email_owners, phone_owners
from tvoxcc.mail.parse import parse_mail
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.queues.model import EventKind
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.support.mail_in import ingest_mails
from tvoxcc.support.status import TicketStatus
from tvoxcc.support.tickets import Mailbox
from tvoxcc.voice.callback_status import CallbackStatus
from tvoxcc.voice.directory import Directory

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SURVIVOR_PHONE, DUPLICATE_PHONE = "+390212345678", "+390287654321"
DUPLICATE_EMAIL = "old.anna@customer.test"
TENANT = """\
tenant: {name: acme, timezone: Europe/Rome, country: IT}
services:
  - {name: sales, dids: ["1000"]}
queues:
  - {name: sales-it, service: sales}
"""


async def _seed(url: str) -> tuple[Store, int, int, int]:
    """Anna (VIP, one open and one solved ticket) and her duplicate, merged into her but keeping its phone and
    e-mail; returns the store, the tenant, Anna's id and the duplicate's."""
    store = Store.from_url(url)
    async with store.session() as session:
        tenant_id = (await session.execute(select(m.Tenant.id).where(m.Tenant.name == "acme"))).scalar_one()
    async with store.tenant(tenant_id) as session:
        anna = m.Contact(display_name="Anna Rossi", vip=True, language="it")
        old = m.Contact(display_name="anna (old)")
        session.add_all([anna, old])
        await session.flush()
        old.merged_into_id = anna.id
        session.add_all(
            [
                m.ContactPhone(contact_id=anna.id, number=SURVIVOR_PHONE),
                m.ContactPhone(contact_id=old.id, number=DUPLICATE_PHONE),
                m.ContactEmail(contact_id=old.id, email=DUPLICATE_EMAIL),
                m.Ticket(number=1, subject="open", status=TicketStatus.PENDING_CUSTOMER, contact_id=anna.id),
                m.Ticket(number=2, subject="done", status=TicketStatus.SOLVED, contact_id=anna.id),
            ]
        )
        await session.commit()
        return store, tenant_id, anna.id, old.id


@pytest.fixture
def acme(tvox_any: Tvox, db_url: str, tmp_path: Path) -> str:
    source = tmp_path / "acme.yaml"
    source.write_text(TENANT)
    tvox_any.ok("import", str(source))
    return db_url


async def test_every_adapter_finds_the_survivor_and_files_the_same_callback(acme: str) -> None:
    store, tenant_id, anna, old = await _seed(acme)
    directory = Directory(store)
    try:
        async with store.tenant(tenant_id) as session:
            assert await phone_owners(session, [DUPLICATE_PHONE, "+3900"]) == {DUPLICATE_PHONE: old}  # as stored
            assert await email_owners(session, [DUPLICATE_EMAIL.upper()], fold_case=True) == {
                DUPLICATE_EMAIL.upper(): old
            }
            assert await email_owners(session, [DUPLICATE_EMAIL.upper()]) == {}  # exact unless asked
            by_phone = await contacts_by_phone(session, [SURVIVOR_PHONE, DUPLICATE_PHONE])
            assert {n: c.contact_id for n, c in by_phone.items()} == {SURVIVOR_PHONE: anna, DUPLICATE_PHONE: anna}
            assert (await contacts_by_email(session, [DUPLICATE_EMAIL]))[DUPLICATE_EMAIL].language == "it"

        # Voice: the caller on the duplicate's number is Anna (VIP, her language, her one open ticket).
        route = await directory.route("acme", "sales")
        caller = await directory.identify(route, "02 8765 4321")
        assert caller.contact_id == anna and caller.number == DUPLICATE_PHONE
        assert (caller.info.known, caller.info.vip, caller.info.language, caller.info.open_tickets) == (
            True,
            True,
            "it",
            1,
        )
        # AGI lookup: the same contact and count.
        calls = CallStore(store)
        tenant = await calls.tenant("acme")
        assert tenant is not None
        info = await calls.contact(tenant, DUPLICATE_PHONE)
        assert info is not None and (info.id, info.name, info.vip, info.open_tickets) == (anna, "Anna Rossi", True, 1)

        # A callback asked for in the IVR and one asked for over AGI: the same row, the same event.
        asked = await directory.open_interaction(route, caller, "1.1", NOW)
        from_voice = await directory.request_callback(route, asked, "sales-it", DUPLICATE_PHONE, NOW)
        target = await calls.callback_target("acme", "sales", "sales-it")
        assert not isinstance(target, str)
        from_agi = await calls.save_callback(target, DUPLICATE_PHONE, "1.1", NOW)
        async with store.tenant(tenant_id) as session:
            rows = {c.id: c for c in (await session.execute(select(m.Callback))).scalars()}
            events = {
                e.data["callback"]: e
                for e in (
                    await session.execute(
                        select(m.InteractionEvent).where(m.InteractionEvent.kind == EventKind.CALLBACK_REQUESTED)
                    )
                ).scalars()
            }
        for callback_id in (from_voice, from_agi):
            row = rows[callback_id]
            assert (row.number, row.contact_id, row.status, row.requested_by_id) == (
                DUPLICATE_PHONE,
                anna,
                CallbackStatus.PENDING,
                asked.id,
            )
            assert events[callback_id].interaction_id == asked.id and events[callback_id].queue_id == row.queue_id
        assert events[from_voice].data["queue"] == "sales-it" and events[from_agi].data["route"] == "agi"

        # Mail from the duplicate's address: Anna's ticket, no new contact.
        box = Mailbox(tenant_id, "acme", "ACME", "en", None, "support@acme.test", "test")
        mail = parse_mail(
            f"From: Anna <{DUPLICATE_EMAIL}>\r\nTo: support@acme.test\r\nSubject: Hi\r\n"
            "Message-ID: <m1@customer.test>\r\n\r\nHello.\r\n".encode()
        )
        async with store.tenant(tenant_id) as session:
            (outcome,) = await ingest_mails(session, box, [(1, mail)], now=NOW, templates=MailTemplates())
            await session.commit()
        async with store.tenant(tenant_id) as session:
            ticket = (
                await session.execute(select(m.Ticket).where(m.Ticket.number == outcome.ticket_number))
            ).scalar_one()
            contacts = (await session.execute(select(m.Contact.id))).scalars().all()
        assert ticket.contact_id == anna and sorted(contacts) == sorted([anna, old])
    finally:
        await directory.recorder.close_writer()
        await store.dispose()
