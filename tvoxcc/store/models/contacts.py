"""A tenant's customers, matched by normalised phone number (E.164) and case-folded e-mail."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tvoxcc.store.base import Base, TenantScoped, Timestamped


class Contact(TenantScoped, Timestamped, Base):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    vip: Mapped[bool] = mapped_column(default=False)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    # A merged duplicate points at the survivor; its history is kept, not deleted.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), default=None)
    phones: Mapped[list[ContactPhone]] = relationship(cascade="all, delete-orphan")
    emails: Mapped[list[ContactEmail]] = relationship(cascade="all, delete-orphan")


class ContactPhone(TenantScoped, Base):
    __tablename__ = "contact_phones"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(32))  # E.164, e.g. +390212345678
    label: Mapped[str] = mapped_column(String(32), default="")


class ContactEmail(TenantScoped, Base):
    __tablename__ = "contact_emails"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))  # case-folded
