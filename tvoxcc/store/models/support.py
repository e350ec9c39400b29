"""Support tickets with their messages and attachments, and the Knowledge Base."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from tvoxcc.kb.article import ArticleStatus, Visibility
from tvoxcc.queues.model import AgentStatus
from tvoxcc.store.base import Base, TenantScoped, Timestamped
from tvoxcc.store.types import utcnow
from tvoxcc.support.status import TicketStatus


class Ticket(TenantScoped, Timestamped, Base):
    __tablename__ = "tickets"
    # Tenant first: tenant sessions always filter on it, so a lone tenant_id index is never the better pick.
    __table_args__ = (UniqueConstraint("tenant_id", "number"), Index("ix_tickets_contact", "tenant_id", "contact_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column()  # per tenant, shown as T-<number>
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"), default=None)
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id"), default=None)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), default=None)
    assignee_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), default=None)
    subject: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(20), default=TicketStatus.NEW)  # TicketStatus
    priority: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_due: Mapped[datetime | None] = mapped_column(default=None)
    resolution_due: Mapped[datetime | None] = mapped_column(default=None)
    first_responded_at: Mapped[datetime | None] = mapped_column(default=None)
    solved_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set once a target is missed (tvoxcc.support.sla), so Insight counts breaches with a plain COUNT.
    first_response_breached: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    resolution_breached: Mapped[bool] = mapped_column(default=False, server_default=sa_false())


class TicketCounter(Base):
    """The next ticket number of one tenant. Every channel takes its numbers here (tvoxcc.support.opening):
    the UPDATE that advances it locks the row until commit, so concurrent writers never pick the same one."""

    __tablename__ = "ticket_counters"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    next_number: Mapped[int] = mapped_column()


class TicketEvent(TenantScoped, Base):
    """Append-only history of a ticket: status changes (the SLA clocks are computed from them),
    assignments (by the ACD, `support next` or by hand), first response and SLA breaches."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_tenant_at", "tenant_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))  # tvoxcc.support.status.TicketEventKind
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SupportAgentState(TenantScoped, Base):
    """Whether a support agent takes tickets from the ACD now; no row means available."""

    __tablename__ = "support_agent_states"
    __table_args__ = (UniqueConstraint("agent_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    # tvoxcc.support.dispatch_store.SUPPORT_PRESENCE: the router's own agent states (tvoxcc.queues.model)
    state: Mapped[str] = mapped_column(String(16), default=AgentStatus.AVAILABLE)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketMessage(TenantScoped, Timestamped, Base):
    __tablename__ = "ticket_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "message_id"),
        Index("ix_ticket_messages_ticket", "tenant_id", "ticket_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"), default=None)
    kind: Mapped[str] = mapped_column(String(16))  # tvoxcc.support.status.MessageKind
    author: Mapped[str] = mapped_column(String(254), default="")
    message_id: Mapped[str | None] = mapped_column(String(500), default=None)  # RFC 5322 Message-ID
    in_reply_to: Mapped[str | None] = mapped_column(String(500), default=None)
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(500), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    # What happened to the mail on its way in (tvoxcc.mail.flags.MessageFlag values, sorted): a blocked or
    # oversized attachment, a truncated body, a charset guess, a loop.
    flags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")


class Attachment(TenantScoped, Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("ticket_messages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column()
    content_id: Mapped[str | None] = mapped_column(String(255), default=None)  # inline images
    data: Mapped[bytes] = mapped_column(LargeBinary)  # empty when blocked
    blocked: Mapped[str | None] = mapped_column(String(100), default=None)  # why the bytes were not stored


class KbArticle(TenantScoped, Timestamped, Base):
    __tablename__ = "kb_articles"
    __table_args__ = (UniqueConstraint("tenant_id", "slug"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
    language: Mapped[str] = mapped_column(String(16), default="en")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    visibility: Mapped[str] = mapped_column(String(16), default=Visibility.INTERNAL)
    status: Mapped[str] = mapped_column(String(16), default=ArticleStatus.DRAFT)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class KbArticleVersion(TenantScoped, Timestamped, Base):
    __tablename__ = "kb_article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64), default="")
