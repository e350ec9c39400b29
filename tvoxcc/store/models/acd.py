"""The ACD's state: work items, agents' states and queues' routing memory, written with each decision.

The ACD service (tvoxcc.acd) keeps its router in memory as a cache of these rows and rebuilds it from them
on start (tvoxcc.queues.engine.restore). Times the router decides on (arrival, wrap-up end…) are its own
clock's seconds (Unix time), kept as floats so a rebuilt router orders and times items exactly as before;
``updated_at`` columns are for people.

Adapters in other processes talk to it through two logs: ``acd_inputs`` (they write requests, the ACD
marks each one taken in the transaction of the decision it caused) and ``acd_commands`` (the ACD writes what
adapters must do in the same transaction as the decision; adapters read by sequence). ``acd_lease`` says
who routes; only one ACD does (tvoxcc.acd.lease). Vocabularies: tvoxcc.acd.kinds, tvoxcc.queues.model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tvoxcc.store.base import Base
from tvoxcc.store.types import utcnow

NOTIFY_CHANNEL = "tvoxcc_acd"  # PostgreSQL: NOTIFYed with "inputs" or "commands" when rows are added


class AcdItem(Base):
    __tablename__ = "acd_items"
    item_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    queue: Mapped[str] = mapped_column(String(128))  # the router's queue name ("tenant/queue")
    channel: Mapped[str] = mapped_column(String(16))  # tvoxcc.queues.model.Channel
    status: Mapped[str] = mapped_column(String(24))  # tvoxcc.queues.model.ItemStatus
    contact_priority: Mapped[int] = mapped_column(default=0)
    priority: Mapped[int] = mapped_column(default=0)  # effective priority it is ordered by
    arrived_at: Mapped[float] = mapped_column(Float)
    queued_at: Mapped[float] = mapped_column(Float)
    seq: Mapped[int] = mapped_column(default=0)  # arrival sequence: the tie-break of equal arrival times
    skills: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    caller_id: Mapped[str] = mapped_column(String(64), default="")
    callback_number: Mapped[str] = mapped_column(String(64), default="")
    ref: Mapped[str] = mapped_column(String(255), default="")  # the adapter's own reference (ticket, chat…)
    auto_accept: Mapped[bool] = mapped_column(default=False)  # taken at once when offered (a ticket)
    offered_to: Mapped[list[Any]] = mapped_column(JSON, default=list)
    agent: Mapped[str | None] = mapped_column(String(128), default=None)  # connected to / reserved for
    connected_at: Mapped[float] = mapped_column(Float, default=0.0)
    tried: Mapped[list[Any]] = mapped_column(JSON, default=list)
    callback_attempts: Mapped[int] = mapped_column(default=0)
    retry_at: Mapped[float] = mapped_column(Float, default=0.0)
    orig_position: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_acd_items_queue_status", "queue", "status"),)


class AcdAgent(Base):
    __tablename__ = "acd_agents"
    agent_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # tvoxcc.queues.model.AgentStatus
    logged_in: Mapped[bool] = mapped_column(default=False)
    login_at: Mapped[float] = mapped_column(Float, default=0.0)
    idle_since: Mapped[float] = mapped_column(Float, default=0.0)
    pause_code: Mapped[str | None] = mapped_column(String(64), default=None)
    wrapup_until: Mapped[float] = mapped_column(Float, default=0.0)
    interface: Mapped[str] = mapped_column(String(128), default="")
    handled: Mapped[int] = mapped_column(default=0)
    capacity: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # channel -> items at once
    load: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # channel -> items in hand
    # [{queue, penalty, weight, position, handled}]: the routing memory of each membership
    members: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AcdQueue(Base):
    __tablename__ = "acd_queues"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    rr_last: Mapped[int] = mapped_column(default=-1)
    next_position: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AcdInput(Base):
    __tablename__ = "acd_inputs"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24))  # tvoxcc.acd.kinds.InputKind
    item_id: Mapped[str | None] = mapped_column(String(128), default=None)
    agent_id: Mapped[str | None] = mapped_column(String(128), default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    error: Mapped[str | None] = mapped_column(String(255), default=None)  # why the ACD refused it


class AcdCommand(Base):
    __tablename__ = "acd_commands"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24))  # tvoxcc.acd.kinds.CommandKind
    channel: Mapped[str | None] = mapped_column(String(16), default=None)
    tenant_id: Mapped[int | None] = mapped_column(default=None)
    item_id: Mapped[str | None] = mapped_column(String(128), default=None)
    agent_id: Mapped[str | None] = mapped_column(String(128), default=None)
    queue: Mapped[str | None] = mapped_column(String(128), default=None)
    ref: Mapped[str] = mapped_column(String(255), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AcdLease(Base):
    """Who routes: one row per lease name. ``epoch`` grows with every new holder: a deposed one's writes fail."""

    __tablename__ = "acd_lease"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255), default="")  # host:pid:token
    host: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int] = mapped_column(default=0)
    epoch: Mapped[int] = mapped_column(default=0)
    since: Mapped[datetime | None] = mapped_column(default=None)
    renewed_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    router_at: Mapped[float] = mapped_column(Float, default=0.0)  # router time of the last decision written
