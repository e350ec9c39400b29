"""The demo's address-book steps without the lab (the full demo: tests/e2e/test_demo.py): demo/contacts.csv
imported, the demo mail's sender found among them by the real mail ingest, then exported and erased."""

from __future__ import annotations

import zipfile
from pathlib import Path

from sqlalchemy import func, select

from tvoxcc import audit
from tvoxcc.config import RecordingSettings
from tvoxcc.demo_contacts import contacts_imported, customer_exported_and_erased
from tvoxcc.demo_mail import SUPPORT_ADDRESS, customer_mail
from tvoxcc.mail.parse import parse_mail
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.recordings.repository import Repository
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.types import utcnow
from tvoxcc.support.mail_in import ingest_mail
from tvoxcc.support.tickets import Mailbox


async def test_demo_imports_then_exports_and_erases_the_mail_sender(store: Store, tmp_path: Path) -> None:
    async with store.session() as s:
        tenant = m.Tenant(name="acme", timezone="Europe/Rome", country="IT")
        s.add(tenant)
        await s.commit()
    lines: list[str] = []
    await contacts_imported(store, lines.append)
    assert lines[0] == "demo: 3 contacts imported from contacts.csv (tvoxcc contact import -t acme FILE)"
    assert lines[1] == "  #1 Giulia Verdi  +390655550101  giulia.verdi@example.test"
    assert lines[2] == "  #2 Bruno Neri  +390244440202  bruno.neri@example.test VIP"
    async with store.session() as s:  # imported as `contact import` does: audited
        imported = await audit.entries(s, action="contact.import")
    assert [(r["actor"], r["tenant"], r["detail"]) for r in imported] == [("system:demo", "acme", {"ids": [1, 2, 3]})]
    box = Mailbox(tenant.id, "acme", "ACME", "en", None, SUPPORT_ADDRESS, "sales@test:143/INBOX")
    async with store.tenant(tenant.id) as s:
        await ingest_mail(s, box, parse_mail(customer_mail()), uid=1, now=utcnow(), templates=MailTemplates())
        await s.commit()
        ticket = (await s.execute(select(m.Ticket))).scalar_one()
    assert ticket.contact_id == 1  # the mail channel found Giulia among the imported contacts

    lines.clear()
    out = tmp_path / "export.zip"
    repository = Repository(RecordingSettings(), tmp_path / "data")
    await customer_exported_and_erased(
        store, lines.append, out=out, recordings_dir=None, repository=repository, data_dir=None
    )
    assert lines[1] == f"Data protection: tvoxcc contact export -t acme giulia.verdi@example.test -> {out}"
    assert "1 contacts" in lines[2] and "1 tickets" in lines[2] and "1 attachments" not in lines[2]
    assert lines[3].startswith("tvoxcc contact erase -t acme giulia.verdi@example.test --yes: contact 1 erased (")
    assert lines[4] == "  Insight's figures for today after the erase: unchanged"
    with zipfile.ZipFile(out) as archive:
        assert "Order 4711" in archive.read("tickets.json").decode()
    async with store.session() as s:
        assert (await s.execute(select(func.count()).select_from(m.Contact))).scalar_one() == 2
        assert (await s.execute(select(m.Ticket.subject))).scalar_one() == "[erased]"
