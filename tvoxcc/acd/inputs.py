"""Requests to the ACD from other processes: rows of acd_inputs, taken in the transaction of their decision.

An adapter (the CLI's ``acd submit``, the support service…) writes a row with ``send_input``; the ACD reads
the rows not taken yet in order (``pending``) and marks each taken, with the refusal if any, in the same
transaction as the rows of the decision it caused. So a request is applied exactly once: a crash before that
commit leaves it untaken, and the restored ACD applies it to the state it restored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, text

from tvoxcc.acd.kinds import InputKind
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.models.acd import NOTIFY_CHANNEL


@dataclass(frozen=True, slots=True)
class Input:
    seq: int
    kind: InputKind
    item_id: str | None
    agent_id: str | None
    payload: Mapping[str, Any]


async def send_input(
    store: Store, kind: InputKind, *, item_id: str | None = None, agent_id: str | None = None, **payload: Any
) -> int:
    """Write a request for the ACD; returns its sequence number."""
    async with store.session() as session:
        result = await session.execute(
            insert(m.AcdInput)
            .values(kind=str(kind), item_id=item_id, agent_id=agent_id, payload=payload)
            .returning(m.AcdInput.seq)
        )
        seq = int(result.scalar_one())
        if store.engine.dialect.name == "postgresql":
            await session.execute(text("SELECT pg_notify(:channel, 'inputs')"), {"channel": NOTIFY_CHANNEL})
        await session.commit()
    return seq


async def pending(store: Store, after: int, limit: int = 500) -> list[Input]:
    """Requests not taken yet with a sequence above ``after`` (those up to it are being applied), oldest first."""
    async with store.session() as session:
        rows = await session.execute(
            select(m.AcdInput)
            .where(m.AcdInput.taken_at.is_(None), m.AcdInput.seq > after)
            .order_by(m.AcdInput.seq)
            .limit(limit)
        )
        return [Input(r.seq, InputKind(r.kind), r.item_id, r.agent_id, dict(r.payload)) for r in rows.scalars()]
