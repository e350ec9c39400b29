"""The service instances of a deployment: each long-running service writes its own row every few seconds.

``tvoxcc cluster status`` reads them (tvoxcc.cluster.status): which instances run where, how long since each
one's last heartbeat, and (with ``acd_lease``) which one is active for its role. A clean stop deletes the row;
a killed instance's row stays and ages (stale), until a live instance prunes it long after.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from tvoxcc.store.base import Base


class ServiceInstance(Base):
    __tablename__ = "service_instances"
    instance: Mapped[str] = mapped_column(String(64), primary_key=True)  # host:pid:token
    service: Mapped[str] = mapped_column(String(16))  # tvoxcc.cluster.heartbeat.ServiceKind
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column()
    lease: Mapped[str] = mapped_column(String(32), default="")  # the acd_lease row that says who is active; "": all
    started_at: Mapped[datetime] = mapped_column()
    beat_at: Mapped[datetime] = mapped_column()
    interval_s: Mapped[float] = mapped_column(Float)
