"""What the wallboard shows now, written by the voice service and read by the web app (another process).

The ACD's live state (callers waiting, agents' states) lives in the voice service's memory; the voice
service copies a small snapshot of it here on every change (tvoxcc.voice.live), and the web app polls
``live_tenants.version`` to learn cheaply which tenant changed (tvoxcc.web.live). Derived data: plain
names, no foreign keys to queues or agents, gone with its tenant (CASCADE).

Also the web app's login sessions: the cookie holds a random token, the table only its SHA-256.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tvoxcc.store.base import Base

NOTIFY_CHANNEL = "tvoxcc_live"  # PostgreSQL: the writer NOTIFYs it with the tenant id of each new snapshot


class LiveTenant(Base):
    """One row per tenant: bumped with every snapshot of the tenant, so a reader polls one small table."""

    __tablename__ = "live_tenants"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
    written_at: Mapped[datetime] = mapped_column()  # the voice service's clock when it wrote the snapshot


class LiveQueue(Base):
    __tablename__ = "live_queues"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    waiting: Mapped[int] = mapped_column(default=0)  # callers on hold, ringing ones included
    oldest_at: Mapped[datetime | None] = mapped_column(default=None)  # when the longest waiting caller queued


class LiveAgent(Base):
    __tablename__ = "live_agents"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    agent: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # tvoxcc.queues.model.AgentStatus
    reason: Mapped[str | None] = mapped_column(String(64), default=None)  # pause code while paused
    since: Mapped[datetime] = mapped_column()  # in this state (and reason) since
    queues: Mapped[list[Any]] = mapped_column(JSON, default=list)  # the queues the agent serves


class WebSession(Base):
    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 hex of the cookie's token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
