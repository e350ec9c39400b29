"""The configuration of a contact center: tenants, services, queues, agents and who may log in."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tvoxcc.store.base import Base, TenantScoped, Timestamped


class Tenant(Timestamped, Base):
    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    country: Mapped[str] = mapped_column(String(2), default="IT")  # default region for E.164
    language: Mapped[str] = mapped_column(String(16), default="en")
    # tvoxcc.admin.spec.OutboundSpec as data: how callbacks are dialled (none: never).
    outbound: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Days interactions and mails are kept (tvoxcc.journey.retention); None: for ever.
    retention_days: Mapped[int | None] = mapped_column(default=None)


class Service(TenantScoped, Timestamped, Base):
    """A tenant's line of business (sales, support…), reachable on a set of channels."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    priority: Mapped[int] = mapped_column(default=0)
    sl_threshold_s: Mapped[int] = mapped_column(default=20)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    # Ticket SLA targets in minutes (None: no target), see tvoxcc.support.sla.
    sla_first_response_min: Mapped[int | None] = mapped_column(default=None)
    sla_resolution_min: Mapped[int | None] = mapped_column(default=None)
    # When the SLA clocks run, in the tenant's timezone (tvoxcc.support.hours); None: around the clock.
    business_hours: Mapped[str | None] = mapped_column(String(500), default=None)
    holidays: Mapped[list[str] | None] = mapped_column(JSON, default=None)  # ISO dates, whole days off
    dids: Mapped[list[Did]] = relationship(back_populates="service", cascade="all, delete-orphan")


class Did(TenantScoped, Base):
    """An inbound number; it selects tenant and service for a call, so it is unique across tenants."""

    __tablename__ = "dids"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    service: Mapped[Service] = relationship(back_populates="dids")


class Skill(TenantScoped, Base):
    __tablename__ = "skills"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(200), default="")


class Queue(TenantScoped, Timestamped, Base):
    __tablename__ = "queues"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"), index=True)
    strategy: Mapped[str] = mapped_column(String(32), default="longest-idle")
    priority: Mapped[int] = mapped_column(default=0)
    wrapup_s: Mapped[int] = mapped_column(default=10)
    ring_timeout_s: Mapped[int] = mapped_column(default=15)
    max_wait_s: Mapped[int | None] = mapped_column(default=None)
    sl_threshold_s: Mapped[int | None] = mapped_column(default=None)  # None: the service's
    record: Mapped[bool] = mapped_column(default=False)
    # tvoxcc.recordings.policy.RecordingPolicy; None: ``record`` decides (always / never).
    recording_policy: Mapped[str | None] = mapped_column(String(16), default=None)
    recording_sample_pct: Mapped[int] = mapped_column(default=100)  # for the sampled policy
    # Besides the mixed recording, each leg (caller, agent) recorded to a file of its own.
    record_legs: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    moh_class: Mapped[str] = mapped_column(String(64), default="default")
    announce_every_s: Mapped[int] = mapped_column(default=30)
    rona_pause: Mapped[bool] = mapped_column(default=True)
    # After the agent hangs up, the caller goes to the NPS survey (dialplan context tvoxcc-survey).
    survey: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    # Relaxation and overflow rules, validated by tvoxcc.admin before they are stored.
    skill_relax: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    overflow: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    service: Mapped[Service] = relationship()
    skills: Mapped[list[QueueSkill]] = relationship(cascade="all, delete-orphan")


class QueueSkill(TenantScoped, Base):
    """A skill a queue requires, with the minimum level an agent must have."""

    __tablename__ = "queue_skills"
    __table_args__ = (UniqueConstraint("queue_id", "skill_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id", ondelete="RESTRICT"), index=True)
    min_level: Mapped[int] = mapped_column(default=1)
    skill: Mapped[Skill] = relationship()


class Agent(TenantScoped, Timestamped, Base):
    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("tenant_id", "name"), UniqueConstraint("tenant_id", "extension"))
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    extension: Mapped[str] = mapped_column(String(16))
    sip_password: Mapped[str] = mapped_column(String(128))
    # channel -> how many items at once, e.g. {"voice": 1, "mail": 5, "chat": 3}
    capacity: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    voice_blocks_others: Mapped[bool] = mapped_column(default=True)
    skills: Mapped[list[AgentSkill]] = relationship(cascade="all, delete-orphan")
    memberships: Mapped[list[QueueMember]] = relationship(cascade="all, delete-orphan")
    groups: Mapped[list[GroupMember]] = relationship(cascade="all, delete-orphan")


class AgentSkill(TenantScoped, Base):
    __tablename__ = "agent_skills"
    __table_args__ = (UniqueConstraint("agent_id", "skill_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id", ondelete="RESTRICT"), index=True)
    level: Mapped[int] = mapped_column()  # 1 (novice) .. 10 (expert)
    skill: Mapped[Skill] = relationship()


class QueueMember(TenantScoped, Base):
    __tablename__ = "queue_members"
    __table_args__ = (UniqueConstraint("queue_id", "agent_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    penalty: Mapped[int] = mapped_column(default=0)  # linear order; lower rings first
    weight: Mapped[int] = mapped_column(default=1)  # weighted-random strategy
    queue: Mapped[Queue] = relationship()


class AgentGroup(TenantScoped, Base):
    __tablename__ = "agent_groups"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(200), default="")


class GroupMember(TenantScoped, Base):
    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("group_id", "agent_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("agent_groups.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    group: Mapped[AgentGroup] = relationship()


class GroupQueue(TenantScoped, Base):
    """A queue a group's agents work (the hierarchy agents -> groups -> queues -> campaigns)."""

    __tablename__ = "group_queues"
    __table_args__ = (UniqueConstraint("group_id", "queue_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("agent_groups.id", ondelete="CASCADE"), index=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"), index=True)


class UserGroup(TenantScoped, Base):
    """A group a supervisor is scoped to: with any, they see and act on those groups' agents only."""

    __tablename__ = "user_groups"
    __table_args__ = (UniqueConstraint("user_id", "group_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("agent_groups.id", ondelete="CASCADE"), index=True)


class ActivityCode(TenantScoped, Base):
    """Pause reasons (dialled as *73 + code) and dispositions an agent sets after a contact."""

    __tablename__ = "activity_codes"
    __table_args__ = (UniqueConstraint("tenant_id", "code"), UniqueConstraint("tenant_id", "name"))
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # pause | disposition
    productive: Mapped[bool] = mapped_column(default=False)


class User(Timestamped, Base):
    """Someone who logs in to the CLI/web. Admins may have no tenant (they see every tenant)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="RESTRICT"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | supervisor | agent | support
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
