"""The mail channel's own state: per-mailbox IMAP progress, the durable outbox, and rejected mails."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tvoxcc.store.base import Base, TenantScoped, Timestamped
from tvoxcc.store.types import utcnow


class OutboxStatus(StrEnum):
    QUEUED = "queued"  # waiting for its next try (``next_attempt_at``)
    SENT = "sent"
    FAILED = "failed"  # refused for good, or too many tries: for an admin to look at


class OutboxKind(StrEnum):
    """What a mail of the outbox is (the mail template of the same name wrote its body)."""

    ACK = "ack"  # the new-ticket acknowledgement (sent as Auto-Submitted: auto-replied)
    REPLY = "reply"  # an agent's answer
    SOLVED = "solved"  # the customer told their ticket is solved


class MailboxState(TenantScoped, Base):
    """How far one IMAP folder has been ingested.

    ``last_uid`` is advanced in the same transaction that stores the message it covers, so a crash
    or a cut connection never skips a mail nor ingests it twice. A changed UIDVALIDITY means the
    server renumbered the folder: ingestion starts over and Message-ID dedup keeps it exactly-once.
    """

    __tablename__ = "mailbox_states"
    __table_args__ = (UniqueConstraint("tenant_id", "mailbox"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(300))  # user@host:port/folder (no password)
    uidvalidity: Mapped[int] = mapped_column(default=0)
    last_uid: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMail(TenantScoped, Timestamped, Base):
    """A mail to send. Sent at least once with the Message-ID kept here, so a resend threads as the same mail."""

    __tablename__ = "outbox_mails"
    __table_args__ = (
        UniqueConstraint("tenant_id", "message_id"),
        Index("ix_outbox_mails_due", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), default=None)
    kind: Mapped[str] = mapped_column(String(16))  # OutboxKind
    message_id: Mapped[str] = mapped_column(String(500))
    in_reply_to: Mapped[str | None] = mapped_column(String(500), default=None)
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    from_address: Mapped[str] = mapped_column(String(254))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(500))
    body_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class MailRejection(TenantScoped, Timestamped, Base):
    """An inbound mail that made no ticket (auto-reply, bounce, bulk, no sender…) and why."""

    __tablename__ = "mail_rejections"
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(300))
    uid: Mapped[int | None] = mapped_column(default=None)
    message_id: Mapped[str | None] = mapped_column(String(500), default=None)
    sender: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    reason: Mapped[str] = mapped_column(String(200))
