"""A tenant's customers, matched by normalised phone number (E.164) and case-folded e-mail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tvoxcc.store.base import Base, TenantScoped, Timestamped
from tvoxcc.store.types import utcnow


class Contact(TenantScoped, Timestamped, Base):
    __tablename__ = "contacts"
    __table_args__ = (Index("ix_contacts_merged", "tenant_id", "merged_into_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    vip: Mapped[bool] = mapped_column(default=False)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    # A merged duplicate points at the survivor; its history is kept, not deleted.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), default=None)
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    phones: Mapped[list[ContactPhone]] = relationship(cascade="all, delete-orphan")
    emails: Mapped[list[ContactEmail]] = relationship(cascade="all, delete-orphan")


class ContactPhone(TenantScoped, Base):
    __tablename__ = "contact_phones"
    # Tenant first: tenant sessions always filter on it, so a lone tenant_id index is never the better pick.
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_contact_phones_contact", "tenant_id", "contact_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(32))  # E.164, e.g. +390212345678
    label: Mapped[str] = mapped_column(String(32), default="")


class ContactEmail(TenantScoped, Base):
    __tablename__ = "contact_emails"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        Index("ix_contact_emails_contact", "tenant_id", "contact_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))  # case-folded


class ContactMerge(TenantScoped, Base):
    """The log of a merge: what moved from the duplicate to the survivor, so history can be traced back."""

    __tablename__ = "contact_merges"
    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    duplicate_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    merged_at: Mapped[datetime] = mapped_column(default=utcnow)
    # {"interactions": [ids], "tickets": [...], "callbacks": [...], "phones": [...], "emails": [...], ...}
    moved: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Erasure(TenantScoped, Base):
    """The log of a data-protection erase (``tvoxcc contact erase``): who asked, when, and how much went.

    It names the erased contact only by its former id: the point of the erase is that nothing else does.
    """

    __tablename__ = "erasures"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column()  # no foreign key: that row is gone
    erased_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(254), default="")  # the OS user of the CLI, the web user
    # {"contacts": n, "interactions": n, "tickets": n, "messages": n, "attachments": n, "files": n, ...}
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
