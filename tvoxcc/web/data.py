"""What the web app reads from the store besides the live snapshot: tenants' configuration, today's figures."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tvoxcc.insight.api import build_report
from tvoxcc.insight.figures import Figures, totals
from tvoxcc.insight.model import Dimension
from tvoxcc.insight.report import values
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.web.views import AgentConfig, TenantConfig


async def tenant_names(store: Store) -> dict[str, int]:
    async with store.session() as session:
        return dict((await session.execute(select(m.Tenant.name, m.Tenant.id).order_by(m.Tenant.name))).all())


async def tenant_config(store: Store, name: str) -> TenantConfig | None:
    async with store.session() as session:
        tenant = (await session.execute(select(m.Tenant).where(m.Tenant.name == name))).scalar_one_or_none()
        if tenant is None:
            return None
        queues = (
            await session.execute(select(m.Queue.name).where(m.Queue.tenant_id == tenant.id).order_by(m.Queue.name))
        ).scalars()
        rows = (
            await session.execute(
                select(m.Agent.name, m.Agent.display_name, m.Queue.name)
                .outerjoin(m.QueueMember, m.QueueMember.agent_id == m.Agent.id)
                .outerjoin(m.Queue, m.Queue.id == m.QueueMember.queue_id)
                .where(m.Agent.tenant_id == tenant.id)
            )
        ).all()
    members: dict[str, tuple[str, list[str]]] = {}
    for agent, display, queue in rows:
        entry = members.setdefault(agent, (display or agent, []))
        if queue is not None:
            entry[1].append(queue)
    agents = {a: AgentConfig(d, tuple(sorted(qs))) for a, (d, qs) in members.items()}
    return TenantConfig(tenant.id, tenant.name, tenant.timezone, tuple(queues), agents)


def today(config: TenantConfig, now: datetime) -> Any:
    return now.astimezone(ZoneInfo(config.timezone)).date()


async def day_figures(
    store: Store, config: TenantConfig, now: datetime, agent: str | None, scope: frozenset[str] | None = None
) -> dict[str, Any]:
    """Today's figures (the tenant's day): per queue and in total, or only ``agent``'s own, or (a supervisor
    scoped to groups) per agent of ``scope`` and their total."""
    day = today(config, now)
    by = Dimension.AGENT if agent is not None or scope is not None else Dimension.QUEUE
    report = await build_report(store, config.name, day, day, by, plots=False)
    if agent is None and scope is not None:
        mine = {group: f for (group, _), f in report.rows.items() if group in scope}
        agents = {a: values(f) for a, f in mine.items()}
        return {"date": day.isoformat(), "total": values(totals(mine.values())), "agents": agents}
    if agent is not None:
        own = [f for (group, _), f in report.rows.items() if group == agent]
        total = own[0] if own else None
        return {"date": day.isoformat(), "agent": agent, "total": values(total) if total else values_empty()}
    queues = {group: values(f) for (group, _), f in report.rows.items()}
    return {"date": day.isoformat(), "total": values(report.total), "queues": queues}


def values_empty() -> dict[str, Any]:
    return values(Figures())


class FiguresCache:
    """Today's figures are computed from the stored events: at most once per ``ttl`` seconds per scope."""

    def __init__(self, store: Store, ttl: float = 5.0) -> None:
        self.store = store
        self.ttl = ttl
        self._cache: dict[tuple[int, str | None, frozenset[str] | None], tuple[float, dict[str, Any]]] = {}

    async def get(
        self, config: TenantConfig, now: datetime, agent: str | None, scope: frozenset[str] | None = None
    ) -> dict[str, Any]:
        key = (config.tenant_id, agent, scope)
        hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        figures = await day_figures(self.store, config, now, agent, scope)
        self._cache[key] = (time.monotonic(), figures)
        return figures
