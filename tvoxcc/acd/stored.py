"""Reading the ACD's rows back: to rebuild the router on start, and for ``tvoxcc acd status`` in any process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, select

from tvoxcc.acd.lease import LEASE
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Stored:
    items: list[Row]
    agents: list[Row]
    queues: list[Row]
    lease: Row | None  # who routes (holder, host, pid, since, renewed_at, expires_at, epoch, router_at)

    @property
    def router_at(self) -> float:
        return float(self.lease["router_at"]) if self.lease else 0.0


def _row(obj: Any) -> Row:
    return {attr.key: getattr(obj, attr.key) for attr in inspect(obj).mapper.column_attrs}


async def load(store: Store, *, lease: str = LEASE) -> Stored:
    async with store.session() as session:
        items = [_row(r) for r in (await session.execute(select(m.AcdItem).order_by(m.AcdItem.seq))).scalars()]
        agents = [_row(r) for r in (await session.execute(select(m.AcdAgent).order_by(m.AcdAgent.agent_id))).scalars()]
        queues = [_row(r) for r in (await session.execute(select(m.AcdQueue).order_by(m.AcdQueue.name))).scalars()]
        held = await session.get(m.AcdLease, lease)
    return Stored(items, agents, queues, None if held is None else _row(held))
