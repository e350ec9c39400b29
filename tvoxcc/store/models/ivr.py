"""IVR flows (one per tenant service) and the text of a tenant's voice prompts, per language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tvoxcc.store.base import Base, TenantScoped
from tvoxcc.store.types import utcnow


class IvrFlow(TenantScoped, Base):
    __tablename__ = "ivr_flows"
    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), unique=True)
    # The flow as validated by tvoxcc.ivr.nodes.Flow (without its service name, which is the row's).
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Prompt(TenantScoped, Base):
    __tablename__ = "prompts"
    __table_args__ = (UniqueConstraint("tenant_id", "name", "language"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
