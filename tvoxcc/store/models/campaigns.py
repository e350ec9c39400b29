"""Outbound campaigns: the campaign, its records, who works it, the do-not-call list, the abandon ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tvoxcc.store.base import Base, TenantScoped, Timestamped
from tvoxcc.store.types import utcnow


class Campaign(TenantScoped, Timestamped, Base):
    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # tvoxcc.campaigns.model.CampaignStatus
    mode: Mapped[str] = mapped_column(String(16), default="progressive")  # DialMode
    rule: Mapped[str] = mapped_column(String(24), default="rolling-30-days")  # AbandonRule
    caller_id: Mapped[str] = mapped_column(String(32), default="")
    # tvoxcc.campaigns.spec.CampaignSettings as data: window, retries, ring time, machine action, pacing knobs.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CampaignQueue(TenantScoped, Base):
    """A queue whose agents work the campaign (its calls are work items of that queue)."""

    __tablename__ = "campaign_queues"
    __table_args__ = (UniqueConstraint("campaign_id", "queue_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="RESTRICT"), index=True)


class CampaignGroup(TenantScoped, Base):
    """An agent group whose members work the campaign."""

    __tablename__ = "campaign_groups"
    __table_args__ = (UniqueConstraint("campaign_id", "group_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("agent_groups.id", ondelete="RESTRICT"), index=True)


class CampaignRecord(TenantScoped, Base):
    __tablename__ = "campaign_records"
    __table_args__ = (Index("ix_campaign_records_due", "campaign_id", "state", "next_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(32))  # E.164
    fields: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # the list's other columns
    state: Mapped[str] = mapped_column(String(16), default="pending")  # RecordState
    attempts: Mapped[int] = mapped_column(default=0)
    next_at: Mapped[datetime | None] = mapped_column(default=None)
    last_outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    source: Mapped[str] = mapped_column(String(300), default="")  # file:line it was imported from
    # Preview: the agent the record is shown to (while ``previewing``), and why an agent last skipped it.
    preview_agent_id: Mapped[int | None] = mapped_column(default=None)
    skip_reason: Mapped[str | None] = mapped_column(String(200), default=None)


class CampaignAttempt(TenantScoped, Base):
    """One dialled line of a record: when, who took it, how it ended."""

    __tablename__ = "campaign_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("campaign_records.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(32))
    agent: Mapped[str | None] = mapped_column(String(64), default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)  # LineOutcome
    disposition: Mapped[str | None] = mapped_column(String(64), default=None)
    # The outbound interaction of a line a person or a machine answered (tvoxcc.campaigns.calls).
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id", ondelete="SET NULL"), default=None)
    # A preview record's: the agent's click-to-call that dials it (tvoxcc.campaigns.preview_calls).
    agent_call_id: Mapped[int | None] = mapped_column(
        ForeignKey("agent_calls.id", ondelete="SET NULL"), default=None, index=True
    )


class DncNumber(TenantScoped, Base):
    """The tenant's do-not-call list, checked when each record is dialled."""

    __tablename__ = "dnc_numbers"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32))  # E.164
    reason: Mapped[str] = mapped_column(String(200), default="")
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class AbandonLedgerRow(TenantScoped, Base):
    """One entry of a campaign's abandon ledger (tvoxcc.campaigns.ledger): live, abandoned or machine."""

    __tablename__ = "abandon_ledger"
    __table_args__ = (Index("ix_abandon_ledger_campaign_at", "campaign_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column()
    entry: Mapped[str] = mapped_column(String(16))  # LedgerEntry
    number: Mapped[str | None] = mapped_column(String(32), default=None)  # abandoned: held 72 h
