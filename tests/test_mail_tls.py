"""IMAP (IMAPS, STARTTLS) and SMTP (STARTTLS required) over TLS verified against the test CA; a wrong CA is refused."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pytest
from sqlalchemy import select

from tests.cli import Tvox, make_tvox
from tests.servers.dovecot import SUPPORT_ADDRESS, LabDovecot, require_dovecot, seed_acme
from tests.servers.smtp import SmtpSink
from tests.servers.tls import LabPki, make_pki
from tvoxcc.config import SmtpSettings
from tvoxcc.mail.ingest import MailboxIngester, resolve_mailbox
from tvoxcc.mail.lab_dovecot import start_dovecot
from tvoxcc.mail.outbox import drain_outbox
from tvoxcc.mail.parse import parse_mail
from tvoxcc.mail.smtp import SmtpSender
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.mail.tls import MailTlsError
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import upgrade
from tvoxcc.store.types import utcnow
from tvoxcc.support.mail_in import ingest_mail
from tvoxcc.support.tickets import Mailbox

PASSWORD = "tls-s3cret-pw"


@pytest.fixture(scope="module")
def pki() -> Iterator[LabPki]:
    folder = Path(tempfile.mkdtemp(prefix="tvoxcc-pki-"))
    yield make_pki(folder)
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


@pytest.fixture
def dovecot(pki: LabPki) -> Iterator[LabDovecot]:
    require_dovecot()
    server = start_dovecot({"support": PASSWORD}, tls=(pki.cert, pki.key))
    yield server
    server.stop()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    # The property under test is the transport: one store backend is enough.
    url = f"sqlite:///{tmp_path / 'tls.db'}"
    upgrade(url)
    return url


@pytest.fixture
async def sqlite_store(sqlite_url: str) -> AsyncIterator[Store]:
    store = Store.from_url(sqlite_url)
    yield store
    await store.dispose()


def mail(i: int) -> bytes:
    return (
        f"From: Anna <anna@customer.test>\r\nTo: {SUPPORT_ADDRESS}\r\nSubject: over TLS {i}\r\n"
        f"Message-ID: <tls{i}@customer.test>\r\n\r\nHello over TLS.\r\n"
    ).encode()


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
async def test_imap_over_tls_verified_against_the_test_ca(
    mode: Literal["ssl", "starttls"], pki: LabPki, dovecot: LabDovecot, sqlite_store: Store
) -> None:
    await seed_acme(sqlite_store)
    dovecot.deliver("support", [mail(1), mail(2)])
    account = dovecot.account(
        "support", tenant="acme", service="support", address=SUPPORT_ADDRESS, tls=mode, cafile=pki.ca
    )
    ingester = MailboxIngester(
        sqlite_store, account, await resolve_mailbox(sqlite_store, account), MailTemplates(), clock=utcnow
    )
    assert await ingester.ingest_once() == 2
    assert ingester.stats.new_tickets == 2


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
async def test_imap_with_an_untrusted_certificate_is_refused_clearly(
    mode: Literal["ssl", "starttls"], pki: LabPki, dovecot: LabDovecot, sqlite_store: Store
) -> None:
    await seed_acme(sqlite_store)
    dovecot.deliver("support", mail(1))
    account = dovecot.account(
        "support", tenant="acme", service="support", address=SUPPORT_ADDRESS, tls=mode, cafile=pki.other_ca
    )
    ingester = MailboxIngester(
        sqlite_store, account, await resolve_mailbox(sqlite_store, account), MailTemplates(), clock=utcnow
    )
    with pytest.raises(MailTlsError) as refused:
        await ingester.ingest_once()
    message = str(refused.value)
    assert message.startswith(f"IMAP support@127.0.0.1:{account.imap_port}/INBOX: TLS certificate refused (")
    assert "unable to get local issuer certificate" in message and str(pki.other_ca) in message
    assert PASSWORD not in message
    async with sqlite_store.session() as session:
        assert (await session.execute(select(m.TicketMessage))).first() is None  # nothing read, nothing stored


def test_cli_reports_an_untrusted_imap_server_in_one_line(pki: LabPki, dovecot: LabDovecot, tmp_path: Path) -> None:
    tvox: Tvox = make_tvox(tmp_path)
    tvox.ok("tenant", "add", "acme")
    tvox.ok("service", "add", "-t", "acme", "support", "--channel", "mail")
    tvox.config.write_text(
        tvox.config.read_text()
        + "\n[[mail.accounts]]\n"
        + f'tenant = "acme"\nservice = "support"\nimap_host = "127.0.0.1"\nimap_port = {dovecot.imaps_port}\n'
        + f'imap_user = "support"\nimap_password = "{PASSWORD}"\nimap_tls = "ssl"\nimap_cafile = "{pki.other_ca}"\n'
        + f'address = "{SUPPORT_ADDRESS}"\n'
    )
    output = tvox.fails("support", "run", "--once")
    assert output.strip().splitlines() == [
        f"error: IMAP support@127.0.0.1:{dovecot.imaps_port}/INBOX: TLS certificate refused "
        f"(unable to get local issuer certificate), checked against CA file {pki.other_ca}"
    ]
    assert PASSWORD not in output


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def queue_one_ack(store: Store) -> int:
    tenant_id = await seed_acme(store)
    box = Mailbox(tenant_id, "acme", "ACME", "en", None, SUPPORT_ADDRESS, "test")
    async with store.tenant(tenant_id) as session:
        await ingest_mail(session, box, parse_mail(mail(1)), uid=1, now=Clock()(), templates=MailTemplates())
        await session.commit()
    return tenant_id


@pytest.fixture
def smtp_tls(pki: LabPki) -> Iterator[SmtpSink]:
    sink = SmtpSink(starttls=pki.server_context())
    sink.start()
    yield sink
    sink.stop()


async def test_smtp_starttls_verified_against_the_test_ca(pki: LabPki, smtp_tls: SmtpSink, sqlite_store: Store) -> None:
    await queue_one_ack(sqlite_store)
    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=smtp_tls.port, tls="starttls", cafile=pki.ca))
    result = await drain_outbox(sqlite_store, sender, now=Clock())
    assert result.sent == 1 and [str(x["To"]) for x in smtp_tls.mails] == ["anna@customer.test"]


@pytest.mark.parametrize(
    ("tls", "trusted", "status", "error"),
    [
        # Not trusted: kept queued and retried (the admin may fix the CA file), never sent in clear.
        ("starttls", False, "queued", "MailTlsError: SMTP 127.0.0.1:{port}: TLS certificate refused ("),
        # In clear: the server insists on TLS with a 5xx, which the outbox takes as permanent.
        ("none", True, "failed", "Must issue a STARTTLS command first"),
    ],
)
async def test_smtp_untrusted_or_plain_sends_nothing_and_says_why(
    tls: Literal["starttls", "none"],
    trusted: bool,
    status: str,
    error: str,
    pki: LabPki,
    smtp_tls: SmtpSink,
    sqlite_store: Store,
) -> None:
    tenant_id = await queue_one_ack(sqlite_store)
    cafile = pki.ca if trusted else pki.other_ca
    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=smtp_tls.port, tls=tls, cafile=cafile))
    result = await drain_outbox(sqlite_store, sender, now=Clock())
    assert result.sent == 0 and smtp_tls.mails == []
    async with sqlite_store.tenant(tenant_id) as session:
        row = (await session.execute(select(m.OutboxMail))).scalar_one()
    assert row.status == status and row.attempts == 1
    assert row.last_error is not None and error.format(port=smtp_tls.port) in row.last_error


def test_missing_ca_file_is_a_clear_error(tmp_path: Path) -> None:
    from tvoxcc.mail.tls import client_context

    with pytest.raises(MailTlsError, match=f"^CA file {tmp_path / 'nope.pem'} not found$"):
        client_context(tmp_path / "nope.pem")
