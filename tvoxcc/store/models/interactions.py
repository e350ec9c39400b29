"""Every contact attempt on any channel, and the append-only event log statistics are built from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from tvoxcc.interactions import Direction
from tvoxcc.store.base import Base, TenantScoped, Timestamped
from tvoxcc.store.types import utcnow


class Interaction(TenantScoped, Timestamped, Base):
    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_tenant_offered", "tenant_id", "offered_at"),
        Index("ix_interactions_contact", "tenant_id", "contact_id", "offered_at"),
        # per-sender mail limit; an unknown caller's journey
        Index("ix_interactions_sender", "tenant_id", "from_address", "offered_at"),
        # the open ones only (a few among millions): what a voice resync judges (tvoxcc.voice.left_open)
        Index(
            "ix_interactions_open",
            "channel",
            "direction",
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # tvoxcc.queues.model.Channel
    direction: Mapped[str] = mapped_column(String(16), default=Direction.INBOUND)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"), default=None)
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id"), default=None)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), default=None)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), default=None)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), default=None)
    # The channel's own id: an Asterisk channel id, a mail Message-ID, a chat session id.
    external_id: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    from_address: Mapped[str] = mapped_column(String(254), default="")
    to_address: Mapped[str] = mapped_column(String(254), default="")
    offered_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)  # tvoxcc.interactions.Outcome
    activity_code_id: Mapped[int | None] = mapped_column(ForeignKey("activity_codes.id"), default=None)
    recording: Mapped[str | None] = mapped_column(String(255), default=None)


class InteractionEvent(TenantScoped, Base):
    """Append-only: rows are inserted, never updated. Reports and the queue_log are built from it."""

    __tablename__ = "interaction_events"
    __table_args__ = (
        Index("ix_interaction_events_tenant_at", "tenant_id", "at"),
        Index("ix_interaction_events_interaction", "tenant_id", "interaction_id"),  # a call's events
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))  # tvoxcc.interactions lists the vocabularies
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), default=None, index=True
    )
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), default=None)
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id"), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
