"""Listen, whisper and barge sessions of supervisors on agents' live calls (tvoxcc.supervision).

Each row is self-contained (names as well as ids): it still says who listened to whom after a user, an agent
or a tenant is renamed or removed. A refused request is a row too, with its reason and no start.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tvoxcc.store.base import Base


class ListenSession(Base):
    __tablename__ = "listen_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    # The agent's tenant (the supervisor's when the agent's tenant is unknown); None for an admin's request
    # about a tenant that does not exist.
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="SET NULL"), index=True)
    tenant: Mapped[str] = mapped_column(String(64))
    phase: Mapped[str] = mapped_column(String(16), index=True)  # tvoxcc.supervision.session.Phase
    origin: Mapped[str] = mapped_column(String(8))  # tvoxcc.supervision.session.Origin
    supervisor: Mapped[str] = mapped_column(String(64))  # the user's name, else the phone's agent name
    supervisor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    supervisor_phone: Mapped[str] = mapped_column(String(128), default="")  # the endpoint the session rang
    agent: Mapped[str] = mapped_column(String(64))  # the agent's name, else the dialled extension
    agent_extension: Mapped[str] = mapped_column(String(16), default="")
    mode: Mapped[str] = mapped_column(String(8))  # the mode asked for first (tvoxcc.supervision.session.Mode)
    modes: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"mode": .., "at": iso}], in order
    requested_at: Mapped[datetime] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)  # started -> ended
    refused: Mapped[str | None] = mapped_column(String(32), default=None)  # tvoxcc.supervision.session.Refusal
    end_reason: Mapped[str | None] = mapped_column(String(32), default=None)  # ...session.EndReason
