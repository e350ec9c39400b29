"""Mail real customers send, through a real Dovecot and SMTP server: loops, charsets, dangerous files, flags."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.cli import Tvox, mail_desk
from tests.servers.dovecot import SUPPORT_ADDRESS, LabDovecot, account_for, dovecot_or_missing, seed_acme
from tests.servers.smtp import SmtpSink
from tvoxcc.config import SmtpSettings
from tvoxcc.mail.ingest import MailboxIngester, resolve_mailbox
from tvoxcc.mail.outbox import drain_outbox
from tvoxcc.mail.smtp import SmtpSender
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.types import utcnow
from tvoxcc.support import desk as ticket_desk

CUSTOMER = "anna@customer.test"


@pytest.fixture
def dovecot() -> Iterator[LabDovecot]:
    server = dovecot_or_missing({"support": "rw-pw"})
    yield server
    server.stop()


@pytest.fixture
async def acme(store: Store) -> AsyncIterator[int]:
    yield await seed_acme(store)


# A customer's forwarding rule, sending every mail they get back to the support address.
def redirect(ours: EmailMessage, n: int) -> bytes:
    """Sieve `redirect`, Gmail forwarding: the mail unchanged (our From, our headers)."""
    return ours.as_bytes()


def resend(ours: EmailMessage, n: int) -> bytes:
    """A resend as the customer (procmail/formail style): new sender and Message-ID, the rest of our headers
    kept but Auto-Submitted, which this forwarder does not know."""
    copy = EmailMessage()
    for name, value in ours.items():
        if name.lower() not in (
            "from",
            "to",
            "message-id",
            "auto-submitted",
            "mime-version",
        ) and not name.lower().startswith("content-"):
            copy[name] = value
    copy["From"], copy["To"], copy["Message-ID"] = CUSTOMER, SUPPORT_ADDRESS, f"<resend{n}@customer.test>"
    copy.set_content(ours.get_content())
    return copy.as_bytes()


def rewrite(ours: EmailMessage, n: int) -> bytes:
    """As `resend`, and the forwarder writes its own subject and drops the threading headers: without our
    X-Loop nothing ties the copy to its ticket, and every copy would open a ticket and get an acknowledgement."""
    copy = EmailMessage()
    copy["X-Loop"] = ours["X-Loop"]
    copy["From"], copy["To"], copy["Message-ID"] = CUSTOMER, SUPPORT_ADDRESS, f"<rewrite{n}@customer.test>"
    copy["Subject"] = f"Fwd: mail from {ours['From']}"
    copy.set_content(ours.get_content())
    return copy.as_bytes()


@pytest.mark.parametrize("rule", [redirect, resend, rewrite])
async def test_a_forwarding_rule_sending_our_mail_back_starts_no_ping_pong(
    store: Store, acme: int, dovecot: LabDovecot, smtp: SmtpSink, rule: Callable[[EmailMessage, int], bytes]
) -> None:
    account = account_for(dovecot)
    mailbox = MailboxIngester(store, account, await resolve_mailbox(store, account), MailTemplates(), clock=utcnow)
    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=smtp.port, tls="none"))
    first = (
        f"From: Anna <{CUSTOMER}>\r\nTo: {SUPPORT_ADDRESS}\r\nSubject: Printer broken\r\n"
        "Message-ID: <c1@customer.test>\r\n\r\nIt jams.\r\n"
    )
    dovecot.deliver("support", first.encode())
    await mailbox.ingest_once()
    await drain_outbox(store, sender, now=utcnow)
    assert len(smtp.mails) == 1 and smtp.mails[0]["X-Loop"] == SUPPORT_ADDRESS
    handled = 0
    for n in range(4):  # each round: what we sent comes back, is ingested, and the outbox is drained
        back = smtp.mails[handled:]
        handled = len(smtp.mails)
        if not back:
            break
        dovecot.deliver("support", [rule(mail, n) for mail in back])
        await mailbox.ingest_once()
        await drain_outbox(store, sender, now=utcnow)
    assert len(smtp.mails) == 1  # the first acknowledgement only: nothing answered our own mail

    async with store.tenant(acme) as session:
        flags = (
            await session.execute(select(m.TicketMessage.flags).where(m.TicketMessage.kind == "inbound"))
        ).scalars()
        rejected = (await session.execute(select(m.MailRejection.reason))).scalars().all()
        statuses = (await session.execute(select(m.Ticket.status))).scalars().all()
    if rule is redirect:
        # Our own Message-ID, already in the thread: a duplicate, never stored twice.
        assert mailbox.stats.duplicates == 1 and rejected == [] and list(flags) == [[]]
    else:
        assert rejected == [] and list(flags) == [[], ["loop"]]  # stored, flagged, not acknowledged
    assert all(status == "new" for status in statuses)  # a loop copy reopens nothing

    async with store.tenant(acme) as session:  # an agent's reply answers the customer's mail, not the copy
        number = (await session.execute(select(func.min(m.Ticket.number)))).scalar_one()
        await ticket_desk.reply(
            session, number, "Fixed.", tenant_name="acme", tenant_display="ACME", agent="mario", now=utcnow(),
            templates=MailTemplates(),
        )  # fmt: skip
        await session.commit()
    await drain_outbox(store, sender, now=utcnow)
    assert smtp.mails[-1]["In-Reply-To"] == "<c1@customer.test>" and "> It jams." in smtp.mails[-1].get_content()


@pytest.fixture
def desk(tvox: Tvox, dovecot: LabDovecot, smtp: SmtpSink) -> Tvox:
    return mail_desk(tvox, dovecot, smtp, "rw-pw")


def _head(sender: bytes, subject: bytes, message_id: str, extra: bytes = b"") -> bytes:
    return (
        b"From: "
        + sender
        + b"\r\nTo: "
        + SUPPORT_ADDRESS.encode()
        + b"\r\nSubject: "
        + subject
        + b"\r\nMessage-ID: "
        + message_id.encode()
        + b"\r\n"
        + extra
    )


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data)


MAILS = {
    "windows-1252": _head(b"Hans <hans@example.de>", b"RE: Preis", "<w1@example.de>")
    + b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\nDas kostet \x80 5, \x93sofort\x94.\r\n",
    "shift_jis": _head(
        b"Taro <taro@example.jp>", b"=?iso-2022-jp?b?" + _b64("表示".encode("iso2022_jp")) + b"?=", "<j1@x>"
    )
    + b"Content-Type: text/plain; charset=shift_jis\r\n\r\n"
    + "表示ソフト①が動きません".encode("cp932"),
    "utf8-header": _head(b"Kowalski, Jan <jan@example.pl>", "Odp: Grüße ☕ zamówienie".encode(), "<p1@x>")
    + b"\r\nDzie\xc5\x84 dobry\r\n",
    "prefix-in-words": _head(b"Eva <eva@example.se>", b"=?utf-8?q?AW=3A_R=C3=A9f=3A?= SV: Faktura", "<e1@x>")
    + b"\r\nHej\r\n",
    "crlf-name": _head(b"=?utf-8?q?Mallory=0D=0A=0D=0AClick_here?= <mallory@example.com>", b"Hello", "<n1@x>")
    + b"\r\nHi\r\n",
    "files": _head(b"Bob <bob@example.com>", b"Fwd: invoice", "<f1@x>")
    + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain\r\n\r\nSee the files.\r\n"
    b'--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="invoice.pdf.exe"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\n" + _b64(b"MZ\x90\x00program") + b"\r\n"
    b'--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="../../notes.txt"\r\n\r\n'
    b"notes\r\n"
    b"--b\r\nContent-Type: message/rfc822\r\n\r\n"
    b"From: c@x.test\r\nSubject: The original\r\nMessage-ID: <orig@x>\r\n\r\nOriginal text.\r\n"
    b"--b--\r\n",
}


def _tickets(desk: Tvox) -> dict[str, dict[str, Any]]:
    """Each ticket's thread (`support show --json`), by its customer."""
    queue = json.loads(desk.ok("support", "queue", "-t", "acme", "--json"))
    return {t["customer"]: json.loads(desk.ok("support", "show", "-t", "acme", t["number"], "--json")) for t in queue}


def test_real_world_mails_through_support_run(desk: Tvox, dovecot: LabDovecot, smtp: SmtpSink) -> None:
    raws = list(MAILS.values())
    dovecot.deliver("support", raws + raws)  # every mail delivered twice
    out = desk.ok("support", "run", "--once")
    assert f"new tickets {len(raws)}," in out and f"duplicates {len(raws)};" in out and f"sent {len(raws)}," in out
    tickets = _tickets(desk)

    first = {customer: thread["messages"][0] for customer, thread in tickets.items()}
    assert first["hans@example.de"]["body"] == "Das kostet € 5, “sofort”."
    assert tickets["hans@example.de"]["subject"] == "Preis"
    assert first["taro@example.jp"]["body"] == "表示ソフト①が動きません" and first["taro@example.jp"]["flags"] == []
    assert tickets["taro@example.jp"]["subject"] == "表示"
    assert tickets["jan@example.pl"]["subject"] == "Grüße ☕ zamówienie"
    assert first["jan@example.pl"]["body"] == "Dzień dobry"
    assert tickets["eva@example.se"]["subject"] == "Faktura"

    files = first["bob@example.com"]
    assert files["flags"] == ["attachment-blocked"]
    by_name = {a["filename"]: a for a in files["attachments"]}
    assert set(by_name) == {"invoice.pdf.exe", "notes.txt", "The original.eml"}
    assert by_name["invoice.pdf.exe"]["blocked"] and by_name["invoice.pdf.exe"]["size"] == 11
    assert by_name["notes.txt"]["blocked"] is None and by_name["The original.eml"]["content_type"] == "message/rfc822"

    acks = {mail["To"]: mail.get_content() for mail in smtp.mails}
    assert len(acks) == len(raws) and all(mail["X-Loop"] == SUPPORT_ADDRESS for mail in smtp.mails)
    assert acks["mallory@example.com"].splitlines()[0] == "Hello Mallory Click here,"  # no line of the sender's own

    number = json.loads(desk.ok("support", "queue", "-t", "acme", "--json"))
    bob = next(t["number"] for t in number if t["customer"] == "bob@example.com")
    text = desk.ok("support", "show", "-t", "acme", bob)
    assert "flags: attachment-blocked" in text
    assert "[attachment] invoice.pdf.exe (application/pdf, 11 bytes) BLOCKED, not stored: executable" in text

    desk.ok("support", "run", "--once")  # nothing new: nothing more stored or sent
    assert _tickets(desk) == tickets and len(smtp.mails) == len(raws)


async def test_blocked_bytes_never_reach_the_store(store: Store, acme: int, dovecot: LabDovecot) -> None:
    dovecot.deliver("support", MAILS["files"])
    account = account_for(dovecot)
    mailbox = MailboxIngester(store, account, await resolve_mailbox(store, account), MailTemplates(), clock=utcnow)
    assert await mailbox.ingest_once() == 1
    async with store.tenant(acme) as session:
        rows = (await session.execute(select(m.Attachment.filename, m.Attachment.data, m.Attachment.blocked))).all()
        blocked = (await session.execute(select(func.count()).where(m.Attachment.blocked.is_not(None)))).scalar_one()
        thread = await ticket_desk.thread_of(session, (await session.execute(select(m.Ticket.number))).scalar_one())
    assert blocked == 1 and all(not data for _, data, why in rows if why)
    assert {name for name, data, _ in rows if data} == {"notes.txt", "The original.eml"}
    assert thread["messages"][0]["flags"] == ["attachment-blocked"]
