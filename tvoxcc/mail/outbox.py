"""Draining the durable outbox: due mails are sent, failures retried with exponential backoff.

Delivery is at-least-once: a row is marked sent in its own commit right after the SMTP server
accepted it. A crash in between resends it once more with the same Message-ID, which mail clients
and our own ingest (Message-ID dedup) treat as the same mail. While SMTP is down nothing is lost:
rows stay queued and are retried at 5 s, 10 s, 20 s… up to 10 minutes apart. A permanent refusal
(5xx) marks the row 'failed' at once, with the server's answer in ``last_error``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

from aiosmtplib import SMTPRecipientsRefused, SMTPResponseException
from sqlalchemy import select

from tvoxcc.backoff import Backoff
from tvoxcc.mail.smtp import build_message
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

log = logging.getLogger(__name__)

BACKOFF = Backoff(initial=5.0, factor=2.0, cap=600.0)  # no jitter: one drainer, and a pass stops at its first failure
MAX_DELAY = timedelta(seconds=BACKOFF.cap)
MAX_ATTEMPTS = 50  # about 8 hours of retries, then the row is 'failed' for an admin to look at


class MailSender(Protocol):
    async def send(self, msg: EmailMessage) -> None: ...


@dataclass
class DrainResult:
    sent: int = 0
    failed: int = 0  # attempts that failed this pass (rows stay queued unless out of attempts)


def is_permanent(exc: Exception) -> bool:
    """A 5xx answer (unknown recipient, refused content): retrying cannot help, an admin must look."""
    if isinstance(exc, SMTPRecipientsRefused):
        return all(e.code >= 500 for e in exc.recipients)
    return isinstance(exc, SMTPResponseException) and exc.code >= 500


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try (1-based), stored as the row's ``next_attempt_at``."""
    return timedelta(seconds=BACKOFF.delay(max(0, attempts - 1)))


async def drain_outbox(
    store: Store, sender: MailSender, *, now: Callable[[], datetime], batch: int = 100
) -> DrainResult:
    """One pass over every tenant's due mails. Stops early at the first failure: SMTP is likely down."""
    result = DrainResult()
    async with store.session() as session:
        due = (
            (
                await session.execute(
                    select(m.OutboxMail.id)
                    .where(m.OutboxMail.status == m.OutboxStatus.QUEUED, m.OutboxMail.next_attempt_at <= now())
                    .order_by(m.OutboxMail.id)
                    .limit(batch)
                )
            )
            .scalars()
            .all()
        )
    for row_id in due:
        async with store.session() as session:
            row = await session.get(m.OutboxMail, row_id)
            if row is None or row.status != m.OutboxStatus.QUEUED:
                continue  # another drainer took it
            try:
                await sender.send(build_message(row))
            except Exception as exc:
                row.attempts += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:500]
                row.next_attempt_at = now() + backoff(row.attempts)
                permanent = is_permanent(exc)
                if permanent or row.attempts >= MAX_ATTEMPTS:
                    row.status = m.OutboxStatus.FAILED
                await session.commit()
                log.warning(
                    "outbox mail %s to %s not sent (attempt %d): %s",
                    row.id,
                    row.to_address,
                    row.attempts,
                    row.last_error,
                )
                result.failed += 1
                if permanent:
                    continue  # this mail is refused, the server works: go on with the others
                break
            row.status, row.sent_at, row.attempts = m.OutboxStatus.SENT, now(), row.attempts + 1
            await session.commit()
            result.sent += 1
    return result
