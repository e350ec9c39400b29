"""Webchats: a conversation between a website visitor and the center, and its messages in order.

A chat is a work item of the one ACD (channel chat): its current item is ``chat-<tenant>-<id>-<leg>``
(a transfer ends one leg and queues the next). Messages are numbered per chat (``seq`` from 1, taken from
``next_seq`` by an UPDATE that locks the chat row until commit), so either side replays what it missed
after a reload by asking for the messages after the last number it saw. States: tvoxcc.chat.core.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tvoxcc.store.base import Base, TenantScoped, Timestamped
from tvoxcc.store.types import utcnow


class Chat(TenantScoped, Timestamped, Base):
    __tablename__ = "chats"
    __table_args__ = (
        Index("ix_chats_status", "tenant_id", "status"),
        Index("ix_chats_thread", "tenant_id", "channel", "address", "service_id"),  # an SMS number's open chat
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # chat (webchat) or sms (tvoxcc.chat.sms: one conversation per number per service while it is open)
    channel: Mapped[str] = mapped_column(String(16), default="chat", server_default="chat")
    address: Mapped[str] = mapped_column(String(64), default="", server_default="")  # an SMS sender's number
    # Where the customer's replies go (an ARI sendMessage destination, from their last SMS): "" for webchats.
    reply_to: Mapped[str] = mapped_column(String(255), default="", server_default="")
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    queue: Mapped[str] = mapped_column(String(128))  # the router's queue it is in or was served from
    status: Mapped[str] = mapped_column(String(16))  # tvoxcc.chat.core.ChatStatus
    leg: Mapped[int] = mapped_column(default=0)  # its ACD item's generation: a transfer starts the next
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"), default=None)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), default=None)
    visitor_name: Mapped[str] = mapped_column(String(100), default="")
    visitor_email: Mapped[str] = mapped_column(String(254), default="")
    token_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the visitor's secret (their browser keeps it)
    next_seq: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)


class ChatMessage(TenantScoped, Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        UniqueConstraint("chat_id", "seq"),
        UniqueConstraint("chat_id", "client_id"),
        Index("ix_chat_messages_delivery", "delivery"),  # the SMS replies still to send
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column()
    sender: Mapped[str] = mapped_column(String(16))  # tvoxcc.chat.core.Sender
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"), default=None)
    body: Mapped[str] = mapped_column(Text)
    # The sender's own id for the message: a resend after a dropped connection is stored once.
    client_id: Mapped[str | None] = mapped_column(String(64), default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # An agent's reply in an SMS chat: pending until the voice service sent it through the trunk, then sent
    # or failed (tvoxcc.chat.sms.Delivery); None for every message that goes nowhere outside.
    delivery: Mapped[str | None] = mapped_column(String(16), default=None)
