"""The recordings repository: a row per recorded call, its file kept under the data dir."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tvoxcc.interactions import Direction
from tvoxcc.store.base import Base, TenantScoped, Timestamped


class Recording(TenantScoped, Timestamped, Base):
    __tablename__ = "recordings"
    __table_args__ = (
        Index("ix_recordings_tenant_started", "tenant_id", "started_at"),
        Index("ix_recordings_tenant_agent", "tenant_id", "agent_id", "started_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="SET NULL"), default=None, index=True
    )
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id", ondelete="SET NULL"), default=None)
    campaign: Mapped[str | None] = mapped_column(String(64), default=None)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"), default=None)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), default=None)
    number: Mapped[str] = mapped_column(String(64), default="")  # the customer's number
    direction: Mapped[str] = mapped_column(String(16), default=Direction.INBOUND)
    started_at: Mapped[datetime]
    duration_s: Mapped[float] = mapped_column(default=0.0)
    size_bytes: Mapped[int] = mapped_column(default=0)  # of the audio, before any encryption
    format: Mapped[str] = mapped_column(String(8), default="wav")
    sha256: Mapped[str] = mapped_column(String(64))  # of the audio, before any encryption
    path: Mapped[str] = mapped_column(String(500))  # relative to the recordings folder
    encrypted: Mapped[bool] = mapped_column(default=False)
    legal_hold: Mapped[bool] = mapped_column(default=False)
    # Paused stretches (payment data), as [start, end] seconds from the start, replaced by silence.
    gaps: Mapped[list[list[float]]] = mapped_column(JSON, default=list)
    # tvoxcc.recordings.policy.Leg: the bridge mixed, or one party's audio alone (a queue's record_legs).
    leg: Mapped[str] = mapped_column(String(16), default="mixed", server_default="mixed")
