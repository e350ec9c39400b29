"""Pre-aggregated statistics: 15-minute slots of basic counts, kept up to date by tvoxcc.insight.slots.

Derived data: rebuilt from interactions at will, so it holds plain ids (no foreign keys that would stop a
queue or agent from being removed) and goes away with its tenant (CASCADE).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tvoxcc.store.base import Base


class InsightSlot(Base):
    __tablename__ = "insight_slots"
    __table_args__ = (Index("ix_insight_slots_tenant_dim_slot", "tenant_id", "sl_threshold_s", "dimension", "slot_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # the thresholds the counts were made with: a report asking for others computes live
    sl_threshold_s: Mapped[float] = mapped_column()
    short_abandon_s: Mapped[float] = mapped_column()
    slot_at: Mapped[datetime] = mapped_column()  # UTC start of the 15-minute slot of offered_at
    # "" rows hold every combination of queue, agent, service and channel (the aggregate itself); rows named
    # "queue", "agent", "service" or "channel" are rolled up to that one dimension, the others left empty,
    # so a daily report by queue reads 96 rows a queue instead of one per queue x agent x service x channel.
    dimension: Mapped[str] = mapped_column(String(8), default="", server_default="")
    queue_id: Mapped[int | None] = mapped_column(default=None)
    agent_id: Mapped[int | None] = mapped_column(default=None)
    service_id: Mapped[int | None] = mapped_column(default=None)
    channel: Mapped[str] = mapped_column(String(16))
    offered: Mapped[int] = mapped_column(default=0)
    answered: Mapped[int] = mapped_column(default=0)
    abandoned: Mapped[int] = mapped_column(default=0)
    short_abandoned: Mapped[int] = mapped_column(default=0)
    answered_in_sl: Mapped[int] = mapped_column(default=0)
    abandoned_in_sl: Mapped[int] = mapped_column(default=0)
    wait_answered_s: Mapped[float] = mapped_column(default=0.0)
    longest_wait_s: Mapped[float] = mapped_column(default=0.0)
    handled: Mapped[int] = mapped_column(default=0)
    talk_s: Mapped[float] = mapped_column(default=0.0)
    shed: Mapped[int] = mapped_column(default=0, server_default="0")  # calls the overloaded voice service shed


class InsightRefresh(Base):
    """How far a tenant's slots are built, per pair of thresholds."""

    __tablename__ = "insight_refreshes"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    sl_threshold_s: Mapped[float] = mapped_column(primary_key=True)
    short_abandon_s: Mapped[float] = mapped_column(primary_key=True)
    built_from: Mapped[datetime] = mapped_column()
    built_to: Mapped[datetime] = mapped_column()  # slots before this are complete (but see MARGIN)
