"""Requests to the ACD from other processes: rows of acd_inputs, taken in the transaction of their decision.

An adapter (the CLI's ``acd submit``, the support service…) writes a row with ``send_input``; the ACD reads
the rows not taken yet in order (``pending``) and marks each taken, with the refusal if any, in the same
transaction as the rows of the decision it caused. So a request is applied exactly once: a crash before that
commit leaves it untaken, and the restored ACD applies it to the state it restored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.acd.kinds import InputKind
from tvoxcc.store import models as m
from tvoxcc.store import peek
from tvoxcc.store.engine import Store
from tvoxcc.store.models.acd import NOTIFY_CHANNEL

_WAITING = peek.probe(select(m.AcdInput.seq).where(m.AcdInput.taken_at.is_(None)))  # built once (store.peek)


@dataclass(frozen=True, slots=True)
class Input:
    seq: int
    kind: InputKind
    item_id: str | None
    agent_id: str | None
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Request:
    """A request to write (``queue_inputs``): the kind, the item or agent it is about, its payload."""

    kind: InputKind
    item_id: str | None = None
    agent_id: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)


async def send_input(
    store: Store, kind: InputKind, *, item_id: str | None = None, agent_id: str | None = None, **payload: Any
) -> int:
    """Write a request for the ACD; returns its sequence number."""
    async with store.session() as session:
        result = await session.execute(
            insert(m.AcdInput).values(_values(Request(kind, item_id, agent_id, payload))).returning(m.AcdInput.seq)
        )
        seq = int(result.scalar_one())
        await _notify(session)
        await session.commit()
    return seq


async def queue_inputs(session: AsyncSession, requests: Sequence[Request]) -> None:
    """Write requests in the caller's transaction: they reach the ACD with its commit (a ticket change and the
    request it causes commit together)."""
    if requests:
        await session.execute(insert(m.AcdInput), [_values(r) for r in requests])
        await _notify(session)


def _values(r: Request) -> dict[str, Any]:
    return {"kind": str(r.kind), "item_id": r.item_id, "agent_id": r.agent_id, "payload": dict(r.payload)}


async def _notify(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":  # delivered at commit
        await session.execute(text("SELECT pg_notify(:channel, 'inputs')"), {"channel": NOTIFY_CHANNEL})


async def pending(store: Store, limit: int = 500) -> list[Input]:
    """Requests not taken yet, oldest first (the ACD leaves out those it applied whose rows are not committed).

    No "after the last one applied" bound: on PostgreSQL a request's number is drawn when its transaction
    inserts it, so a request may commit after one numbered above it was read and applied; a bound would
    skip it for ever (seen with 20 agents logging in at once from the desktop).
    """
    if not await peek.exists(store, _WAITING):  # the usual answer, found for ~1/20 of a session's cost
        return []
    async with store.session() as session:
        rows = await session.execute(
            select(m.AcdInput).where(m.AcdInput.taken_at.is_(None)).order_by(m.AcdInput.seq).limit(limit)
        )
        return [Input(r.seq, InputKind(r.kind), r.item_id, r.agent_id, dict(r.payload)) for r in rows.scalars()]
