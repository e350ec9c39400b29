"""Group commit for the voice service's facts: interactions and their events, written off the call path.

A call used to wait for a commit of its own at every step (interaction opened, IVR node, queued, router
event, answered, ended), one at a time behind every other call's. Here a call only queues what happened
(``open``, ``event``, ``update``, ``close``: plain method calls, no await) and goes on; one writer task takes
everything queued meanwhile and writes it in one transaction. While that commit runs the next batch
gathers, so the busier the service the bigger the batches, and the database sees a few commits a second
instead of one per event.

What needs an acknowledgement waits for it: ``await recorder.flush()`` returns once everything queued
before it is committed (shutdown, a callback request or voicemail ticket that must refer to a stored row).

Order is kept: ops are applied in the order they were queued, so a call's events keep their order (event
ids ascend) and an interaction exists before its events. A batch that fails is retried op by op, so one
bad row never loses the others; the failing op is logged and dropped. The batching itself is
tvoxcc.store.group_commit's (the ACD's decision rows use it too).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.interactions import InteractionEventKind as Kind
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.group_commit import GroupCommit

log = logging.getLogger(__name__)


@dataclass(eq=False)
class InteractionRef:
    """An interaction the recorder writes; ``id`` is known once its batch is flushed."""

    tenant_id: int
    id: int | None = None
    row: m.Interaction | None = field(default=None, repr=False)  # while its batch is being written
    ended: bool = False  # closed through the recorder: a second close is a no-op

    @classmethod
    def stored(cls, tenant_id: int, interaction_id: int) -> InteractionRef:
        return cls(tenant_id, interaction_id)


@dataclass(frozen=True, slots=True)
class _Open:
    ref: InteractionRef
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Event:
    tenant_id: int
    ref: InteractionRef | None
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Update:
    ref: InteractionRef
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Close:
    ref: InteractionRef
    at: datetime
    outcome: str


_Write = _Open | _Event | _Update | _Close


class Recorder(GroupCommit[_Write]):
    name = "voice-recorder"

    def __init__(self, store: Store, *, max_batch: int = 2000, linger: float = 0.1) -> None:
        # After the first op of a batch, wait ``linger`` for more: a quiet service then commits a few times a
        # second instead of once per call step (each commit costs the same CPU whatever it holds).
        super().__init__(store, max_batch=max_batch, linger=linger)

    # -- what calls do (no await) -------------------------------------------------------------------

    def open(self, tenant_id: int, **values: Any) -> InteractionRef:
        ref = InteractionRef(tenant_id)
        self.put(_Open(ref, {**values, "tenant_id": tenant_id}))
        return ref

    def event(
        self, tenant_id: int, interaction: InteractionRef | None, kind: str, at: datetime, data: Any = None, **more: Any
    ) -> None:
        values = {"tenant_id": tenant_id, "kind": kind, "at": at, "data": data if data is not None else {}, **more}
        self.put(_Event(tenant_id, interaction, values))

    def update(self, interaction: InteractionRef, **values: Any) -> None:
        self.put(_Update(interaction, values))

    def close(self, interaction: InteractionRef, at: datetime, outcome: str) -> None:
        """End the interaction with ``outcome`` and an ``ended`` event, unless it already ended."""
        if interaction.ended:
            return
        interaction.ended = True
        self.put(_Close(interaction, at, outcome))

    # -- the writer's hooks ------------------------------------------------------------------------------

    async def write(self, session: AsyncSession, ops: list[_Write]) -> None:
        await _apply(session, ops)

    async def committed(self, ops: list[_Write]) -> None:
        _forget_rows(ops)

    async def failed(self, ops: list[_Write], error: Exception) -> bool:
        """Write the batch op by op, so one bad row never loses the others; the failing op is dropped."""
        log.error("recorder: a batch of %d failed (%s); writing its ops one by one", len(ops), error)
        for op in ops:
            if isinstance(op, _Open):
                op.ref.id = None  # that id was rolled back
        for op in ops:
            _forget_rows(ops)
            try:
                async with self.store.session() as session:
                    await _apply(session, [op])
                    await session.commit()
            except Exception:
                log.exception("recorder: dropped %s", type(op).__name__)
        _forget_rows(ops)
        return False


def _forget_rows(ops: list[_Write]) -> None:
    for op in ops:
        if isinstance(op, _Open):
            op.ref.row = None


async def _apply(session: AsyncSession, ops: list[_Write]) -> None:
    # New interactions first, in one flush: every later op of the batch can then name them by id.
    opens = [op for op in ops if isinstance(op, _Open) and op.ref.id is None]
    opened = [opening.ref for opening in opens]
    for opening in opens:
        opening.ref.row = m.Interaction(**opening.values)
        session.add(opening.ref.row)
    if opened:
        await session.flush()
        for new in opened:
            assert new.row is not None
            new.id = new.row.id
    # Events go in at the end as one executemany (no RETURNING: the ORM would insert them one by one).
    events: list[dict[str, Any]] = []
    for op in ops:
        match op:
            case _Event(ref=of, values=values):
                events.append({"agent_id": None, "queue_id": None, **values, "interaction_id": of.id if of else None})
            case _Update(ref=ref, values=values):
                if ref.row is not None:
                    for name, value in values.items():
                        setattr(ref.row, name, value)
                elif ref.id is not None:
                    await session.execute(update(m.Interaction).where(m.Interaction.id == ref.id).values(**values))
            case _Close(ref=ref, at=at, outcome=outcome):
                if await _end(session, ref, at, outcome):
                    events.append(
                        {"tenant_id": ref.tenant_id, "interaction_id": ref.id, "kind": Kind.ENDED, "at": at,
                         "data": {"outcome": outcome}, "agent_id": None, "queue_id": None}
                    )  # fmt: skip
            case _:
                pass
    if events:
        await session.flush()  # the interactions' own changes first
        await session.execute(insert(m.InteractionEvent), events)


async def _end(session: AsyncSession, ref: InteractionRef, at: datetime, outcome: str) -> bool:
    """Set ended_at/outcome unless the row already ended (another writer, a previous run); True if it did."""
    if ref.row is not None:
        if ref.row.ended_at is not None:
            return False
        ref.row.ended_at, ref.row.outcome = at, outcome
        return True
    if ref.id is None:
        return False
    result = await session.execute(
        update(m.Interaction)
        .where(m.Interaction.id == ref.id, m.Interaction.ended_at.is_(None))
        .values(ended_at=at, outcome=outcome)
    )
    return bool(getattr(result, "rowcount", 0))
