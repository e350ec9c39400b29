"""An in-process SMTP server (aiosmtpd) that keeps every mail it accepts; stop/start simulates an outage."""

from __future__ import annotations

import email
import ssl
import threading
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tvoxcc.mail.lab_dovecot import free_port


class _Collector:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mails: list[EmailMessage] = []
        self.refused: set[str] = set()  # recipients answered with a permanent 550

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        with self.lock:
            mail = email.message_from_bytes(content, policy=policy.default)
            assert isinstance(mail, EmailMessage)
            self.mails.append(mail)
        return "250 OK"


class SmtpSink:
    def __init__(self, *, starttls: ssl.SSLContext | None = None) -> None:
        self.port = free_port()  # Controller(port=0) does not work: pick one and keep it across restarts
        self.handler = _Collector()
        self.controller: Controller | None = None
        self.starttls = starttls  # server context: STARTTLS offered and required before MAIL FROM

    @property
    def mails(self) -> list[EmailMessage]:
        with self.handler.lock:
            return list(self.handler.mails)

    def start(self) -> None:
        tls: dict[str, Any] = {"tls_context": self.starttls, "require_starttls": True} if self.starttls else {}
        controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **tls)
        controller.start()
        self.controller = controller

    def stop(self) -> None:
        controller, self.controller = self.controller, None
        if controller is not None:
            controller.stop()

    def settings(self) -> dict[str, Any]:
        return {"host": "127.0.0.1", "port": self.port, "tls": "none"}
