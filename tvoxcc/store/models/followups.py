"""What happens after or instead of a live contact: callbacks and NPS survey answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tvoxcc.store.base import Base, TenantScoped
from tvoxcc.store.types import utcnow
from tvoxcc.voice.callback_status import CallbackStatus


class Callback(TenantScoped, Base):
    __tablename__ = "callbacks"
    __table_args__ = (
        Index("ix_callbacks_contact", "tenant_id", "contact_id"),
        Index("ix_callbacks_requested_by", "tenant_id", "requested_by_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32))  # E.164 or an internal extension
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"), default=None)
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id"), default=None)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), default=None)
    # The interaction that asked for it, and the one that carried it out.
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"), default=None)
    placed_as_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"), default=None)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default=CallbackStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)


class NpsAnswer(TenantScoped, Base):
    __tablename__ = "nps_answers"
    __table_args__ = (
        CheckConstraint("score BETWEEN 0 AND 10", name="score_range"),
        CheckConstraint("second_score IS NULL OR second_score BETWEEN 0 AND 10", name="second_score_range"),
        Index("ix_nps_answers_interaction", "tenant_id", "interaction_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"), default=None, index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), default=None)
    score: Mapped[int] = mapped_column()
    second_score: Mapped[int | None] = mapped_column(default=None)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
