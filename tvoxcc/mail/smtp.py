"""Sending one mail with aiosmtplib, configured from [mail.smtp]."""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import format_datetime

from aiosmtplib import SMTPException, send

from tvoxcc.config import SmtpSettings
from tvoxcc.mail.tls import client_context, refused
from tvoxcc.store.models import OutboxKind, OutboxMail


def build_message(row: OutboxMail) -> EmailMessage:
    """The RFC 5322 mail for an outbox row: its Message-ID, In-Reply-To and References make replies thread."""
    msg = EmailMessage()
    msg["From"] = row.from_address
    msg["To"] = row.to_address
    msg["Subject"] = row.subject
    msg["Message-ID"] = row.message_id
    msg["Date"] = format_datetime(row.created_at)
    if row.in_reply_to:
        msg["In-Reply-To"] = row.in_reply_to
    if row.references:
        msg["References"] = " ".join(row.references)
    # Our own mails must not trigger auto-replies (RFC 3834) — and our filter drops any that come back.
    msg["Auto-Submitted"] = "auto-replied" if row.kind == OutboxKind.ACK else "no"
    # Names this mailbox: a copy of this mail coming back (a forwarding rule, an autoresponder keeping our
    # headers) is stored flagged as a loop and never acknowledged (tvoxcc.support.mail_in).
    msg["X-Loop"] = row.from_address
    msg.set_content(row.body_text)
    return msg


class SmtpSender:
    def __init__(
        self, settings: SmtpSettings, *, timeout: float = 15.0, tls_context: ssl.SSLContext | None = None
    ) -> None:
        self.settings = settings
        self.timeout = timeout
        self.tls_context = tls_context

    async def send(self, msg: EmailMessage) -> None:
        s = self.settings
        context = self.tls_context
        if context is None and s.tls != "none":
            context = client_context(s.cafile)
        try:
            await send(
                msg,
                hostname=s.host,
                port=s.port,
                username=s.user,
                password=s.password.get_secret_value() if s.password else None,
                use_tls=s.tls == "ssl",
                start_tls=s.tls == "starttls",
                tls_context=context,
                timeout=self.timeout,
            )
        except ssl.SSLCertVerificationError as exc:
            raise refused(f"SMTP {s.host}:{s.port}", exc, s.cafile) from exc
        except SMTPException as exc:
            # aiosmtplib wraps a failed handshake; the certificate error underneath is the one to tell.
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ssl.SSLCertVerificationError):
                raise refused(f"SMTP {s.host}:{s.port}", cause, s.cafile) from exc
            raise


class MemorySender:
    """Keeps mails instead of sending them: for the demo and dry runs, where no SMTP server is wanted."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    async def send(self, msg: EmailMessage) -> None:
        self.sent.append(msg)
