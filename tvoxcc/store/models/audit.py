"""The audit log: append-only rows chained by hash, and the head row that serializes writers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tvoxcc.store.base import Base


class AuditEntry(Base):
    """One audited act. Never updated or deleted: ``hash`` covers the row and the previous row's hash.

    Not tenant-scoped on purpose: a tenant session must neither filter nor restamp the log, and a row
    names its tenant by name so it outlives the tenant.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_tenant_at", "tenant", "at"),
        Index("ix_audit_log_actor_at", "actor", "at"),
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # 1, 2, 3… with no gap
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))  # cli:root, web:alice, voice
    action: Mapped[str] = mapped_column(String(48))  # tvoxcc.audit.actions.AuditAction
    tenant: Mapped[str | None] = mapped_column(String(64), default=None)
    subject: Mapped[str] = mapped_column(String(255), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's last link, one row (id 1). Writers update it first: the row lock (PostgreSQL) or the
    write lock (SQLite) makes them take turns, so two of them never link to the same previous row; and a
    deleted last entry no longer matches it."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64), default="")
