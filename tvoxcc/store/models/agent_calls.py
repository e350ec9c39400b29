"""Calls agents place themselves (tvoxcc.agentcalls), and call scripts with the answers agents give.

An ``AgentCall`` is one dial-out: from the agent's phone (``9`` + number) or the desktop's click-to-call (the
row is then the request the voice service takes). Its conversation is an outbound ``Interaction``; a refused
dial-out is a row too, with its reason and no interaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tvoxcc.store.base import Base, TenantScoped, Timestamped
from tvoxcc.store.types import utcnow


class AgentCall(TenantScoped, Base):
    __tablename__ = "agent_calls"
    __table_args__ = (Index("ix_agent_calls_phase", "phase", "origin"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    origin: Mapped[str] = mapped_column(String(8))  # tvoxcc.agentcalls.model.Origin
    phase: Mapped[str] = mapped_column(String(16))  # tvoxcc.agentcalls.model.Phase
    number: Mapped[str] = mapped_column(String(32), default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), default=None)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id", ondelete="SET NULL"), default=None)
    refused: Mapped[str | None] = mapped_column(String(32), default=None)  # tvoxcc.agentcalls.model.Refusal
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class CallScript(TenantScoped, Timestamped, Base):
    """A form of fields and branches (tvoxcc.scripts), for one campaign or one queue."""

    __tablename__ = "call_scripts"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), default=None)
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"), default=None)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # tvoxcc.scripts.model.Script as data
    source: Mapped[str] = mapped_column(Text, default="")  # the YAML it was loaded from


class ScriptAnswer(TenantScoped, Base):
    """The answers an agent gave to a script during one interaction (the latest POST replaces them)."""

    __tablename__ = "script_answers"
    __table_args__ = (UniqueConstraint("interaction_id", "script_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    script_id: Mapped[int] = mapped_column(ForeignKey("call_scripts.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"), default=None)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    path: Mapped[list[Any]] = mapped_column(JSON, default=list)  # the steps shown, in order
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecordingRequest(TenantScoped, Base):
    """The desktop's "Pause recording" / "Resume recording" (tvoxcc.recordings.requests): the web app stores the
    row, the voice service takes it once (``taken_at``) and pauses or resumes as the agent's ``*78`` / ``*79`` do."""

    __tablename__ = "recording_requests"
    __table_args__ = (Index("ix_recording_requests_open", "taken_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(8))  # tvoxcc.recordings.pause.RecordingAction: pause / resume
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id", ondelete="SET NULL"), default=None)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(default=None)
