"""Tickets on the agent desktop in headless Chromium: ann reads a customer's mail thread, adds the suggested
Knowledge Base article to her reply with one click, sends it, adds a note and solves the ticket; the outbox
delivers the reply (and the "solved" notice) to a real SMTP server, and the thread the CLI reads has it all."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select

from tests.e2e.cdp import Chromium
from tests.e2e.test_web_chat import chromium, click, open_desktop, type_in, world  # noqa: F401 (fixtures)
from tests.servers.smtp import SmtpSink
from tvoxcc.config import SmtpSettings
from tvoxcc.kb.article import ArticleFields
from tvoxcc.kb.store import add_article, set_published
from tvoxcc.mail.outbox import drain_outbox
from tvoxcc.mail.parse import parse_mail
from tvoxcc.mail.smtp import SmtpSender
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.support import desk
from tvoxcc.support.mail_in import ingest_mail
from tvoxcc.support.tickets import Mailbox

ADDRESS = "help@acme.example"
ARTICLE = "To correct an invoice, we issue a credit note within two working days."
MAIL = (
    "From: Carla Bianchi <carla@example.com>\r\nTo: help@acme.example\r\nSubject: Wrong invoice amount\r\n"
    "Message-ID: <inv-1@example.com>\r\n\r\nMy invoice 42 charges twice the amount. Please correct the invoice.\r\n"
)


def text_of(mail: EmailMessage) -> str:
    body = mail.get_body()
    return "" if body is None else str(body.get_content())


async def seed(store: Store) -> None:
    """A mail from Carla to the web service (ticket T-1001) and a published article about invoices."""
    async with store.session() as session:
        tenant_id, service_id = (
            await session.execute(select(m.Service.tenant_id, m.Service.id).where(m.Service.name == "web"))
        ).one()
    now = datetime.now(UTC)
    box = Mailbox(tenant_id, "acme", "ACME", "en", service_id, ADDRESS, "test")
    async with store.tenant(tenant_id) as session:
        await ingest_mail(session, box, parse_mail(MAIL.encode()), uid=1, now=now, templates=MailTemplates())
        fields = ArticleFields("invoice-correction", "Invoice correction", ARTICLE, tags=("invoice",))
        await add_article(session, fields, author="kb-admin", now=now)
        await set_published(session, "invoice-correction", True, now=now)
        await session.commit()


async def test_a_ticket_answered_from_the_desktop_reaches_the_smtp_server(
    world: tuple[Store, str],  # noqa: F811
    chromium: str,  # noqa: F811
    smtp: SmtpSink,
    tmp_path: Path,
) -> None:
    store, base = world
    await seed(store)
    async with Chromium.launch(chromium, tmp_path / "profile") as browser:
        ann = await browser.new_page(isolated=True)
        await open_desktop(ann, base, "ann")
        await click(ann, '#desk-ticket-list li[data-ticket="T-1001"] .open-ticket')
        await ann.wait_for("document.getElementById('desk-ticket-title').textContent.includes('Wrong invoice')")
        thread = await ann.eval("document.getElementById('desk-ticket-thread').textContent")
        assert "charges twice the amount" in thread
        # The suggested article, one click away, goes into the reply.
        await click(ann, '#desk-ticket-kb .use-article[data-slug="invoice-correction"]')
        reply = await ann.eval("document.getElementById('desk-ticket-reply').value")
        assert reply == ARTICLE
        await ann.eval(
            "const r = document.getElementById('desk-ticket-reply'); r.value = 'Dear Carla,\\n\\n' + r.value; true"
        )
        if shots := os.environ.get("TVOXCC_SCREENSHOTS"):
            await ann.eval("document.getElementById('desk-ticket').scrollIntoView(); true")
            await ann.screenshot(Path(shots) / "agent-desktop-ticket.png")
        await click(ann, "#desk-ticket-send-reply")
        await ann.wait_for("document.getElementById('desk-ticket-done').textContent === 'reply saved'")
        await ann.wait_for("document.getElementById('desk-ticket-state').textContent.startsWith('pending-customer')")
        await type_in(ann, "#desk-ticket-note", "#desk-ticket-send-note", "Credit note CN-7 <b>issued</b>")
        await ann.wait_for("document.getElementById('desk-ticket-done').textContent === 'note saved'")
        await ann.eval("document.getElementById('desk-ticket-status').value = 'solved'; true")
        await click(ann, "#desk-ticket-set-status")
        await ann.wait_for("document.getElementById('desk-ticket-state').textContent.startsWith('solved')")
        # Solved: no longer in what waits for ann; the note's HTML is text.
        await ann.wait_for("document.querySelector('#desk-ticket-list li[data-ticket=\"T-1001\"]') === null")
        assert await ann.eval("document.querySelector('#desk-ticket-thread b') === null")
        # A refusal is shown, not lost: an empty note.
        await click(ann, "#desk-ticket-send-note")
        await ann.wait_for("document.getElementById('desk-error').textContent === 'empty note'")

    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=smtp.port, tls="none"), timeout=5)
    await drain_outbox(store, sender, now=lambda: datetime.now(UTC))
    texts = [(mail, text_of(mail)) for mail in smtp.mails]
    replies = [mail for mail, text in texts if "credit note within two working days" in text]
    assert len(replies) == 1, [mail["Subject"] for mail in smtp.mails]
    assert replies[0]["To"] == "carla@example.com" and "T-1001" in replies[0]["Subject"]
    assert any("Dear Carla" in text for mail, text in texts if mail is replies[0])
    async with store.session() as session:
        tenant_id = await session.scalar(select(m.Tenant.id))
    assert tenant_id is not None
    async with store.tenant(tenant_id) as session:  # what `tvoxcc support show` reads
        shown = await desk.thread_of(session, 1001)
    assert shown["status"] == "solved"
    kinds = [(msg["kind"], msg["author"]) for msg in shown["messages"]]
    assert ("note", "ann") in kinds and ("outbound", "ann") in kinds
