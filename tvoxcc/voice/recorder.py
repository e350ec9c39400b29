"""Group commit for the voice service's facts: interactions and their events, written off the call path.

A call used to wait for a commit of its own at every step (interaction opened, IVR node, queued, router
event, answered, ended), one at a time behind every other call's. Here a call only queues what happened
(``open``, ``event``, ``update``, ``close``: plain method calls, no await) and goes on; the group-commit writer
(tvoxcc.store.group_commit, the ACD's decisions use it too) takes everything queued meanwhile and writes it
in one transaction, after a linger of 0.25 s. While that commit runs the next batch gathers, so the busier
the service the bigger the batches, and the database sees a few commits a second instead of one per event.

What needs an acknowledgement waits for it: ``await recorder.flush()`` returns once everything queued
before it is committed (shutdown, a callback request or voicemail ticket that must refer to a stored row).

Order is kept: ops are applied in the order they were queued, so a call's events keep their order (event
ids ascend) and an interaction exists before its events. A batch that fails is retried op by op, so one
bad row never loses the others; the failing op is logged and dropped.

A batch is written with SQLAlchemy Core statements, not the ORM (whose unit of work cost more than the rest of
a call), each compiled once and on SQLite run as its SQL text with SQLAlchemy's own value processing
(tvoxcc.store.precompiled_write: SQLAlchemy's per-row parameter handling was most of the writer's CPU): the new
interactions, with what the batch changes of them folded in, are one INSERT per shape (their ids in the order of
the rows), the changes to stored ones one UPDATE per shape (executemany), their ends one UPDATE that ends only
those still open and says which (on SQLite a fixed one per interaction, its rowcount saying), and all events one
executemany; the whole transaction in one hop to the database's thread (tvoxcc.store.one_hop).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, case, insert, update

from tvoxcc.interactions import InteractionEventKind as Kind
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.group_commit import GroupCommit
from tvoxcc.store.one_hop import OneHop
from tvoxcc.store.precompiled_write import PrecompiledWrite

log = logging.getLogger(__name__)


@dataclass(eq=False)
class InteractionRef:
    """An interaction the recorder writes; ``id`` is known once its batch is flushed."""

    tenant_id: int
    id: int | None = None
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
    """The voice service's facts, group-committed (tvoxcc.store.group_commit) on a Core connection."""

    name = "voice-recorder"

    def __init__(self, store: Store, *, max_batch: int = 2000, linger: float = 0.25) -> None:
        # After the first op of a batch, wait ``linger`` for more: a busy service then commits four times a
        # second instead of at every call step (each commit costs about the same CPU whatever it holds). A
        # ``flush`` cuts the wait short: whoever waits for an acknowledgement never waits for the linger. What a
        # crash loses is what no acknowledgement covered, the facts of at most the last linger: no longer than
        # the ACD's own linger (``acd_linger_seconds``, 0.25), or a kill could leave a call completed in the
        # ACD's rows with its interaction still open (0.5 s was tried: a CI run then failed in a way that fits). The
        # resync at a start closes such a call (tvoxcc.voice.left_open); a longer linger would leave more of them.
        super().__init__(store, max_batch=max_batch, linger=linger)
        self._hop = OneHop(store, self.name)

    # -- what calls do (no await) -------------------------------------------------------------------

    def open(self, tenant_id: int, **values: Any) -> InteractionRef:
        ref = InteractionRef(tenant_id)
        self.put(_Open(ref, {**values, "tenant_id": tenant_id}))
        return ref

    def event(
        self,
        tenant_id: int,
        interaction: InteractionRef | None,
        kind: str,
        at: datetime,
        data: Any = None,
        *,
        agent_id: int | None = None,
        queue_id: int | None = None,
    ) -> None:
        data = data if data is not None else {}
        values = {
            "tenant_id": tenant_id,
            "kind": kind,
            "at": at,
            "data": data,
            "agent_id": agent_id,
            "queue_id": queue_id,
        }
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

    async def transact(self, ops: list[_Write]) -> None:
        """Core in one hop: the ORM's unit of work cost more than the rest of a call."""
        await self._hop.run(_apply, ops)

    async def abandon(self) -> None:
        await super().abandon()
        await self._hop.close()

    async def failed(self, ops: list[_Write], error: Exception) -> bool:
        """Op by op: one bad row never loses the others; the failing op is logged and dropped."""
        log.error("recorder: a batch of %d failed; writing its ops one by one", len(ops), exc_info=error)
        for op in ops:
            if isinstance(op, _Open):
                op.ref.id = None  # that id was rolled back
        for op in ops:
            try:
                await self.transact([op])
            except Exception:
                if isinstance(op, _Open):
                    op.ref.id = None
                log.exception("recorder: dropped %s", type(op).__name__)
        return False


INTERACTIONS: Table = m.Interaction.__table__  # type: ignore[assignment]
EVENTS: Table = m.InteractionEvent.__table__  # type: ignore[assignment]
# What a batch may set on an interaction it opens: every new row names them all, so rows share one shape.
_CHANGEABLE = {"outcome": None, "ended_at": None, "answered_at": None, "agent_id": None, "queue_id": None,
               "recording": None, "contact_id": None}  # fmt: skip
# Compiled once (tvoxcc.store.precompiled_write): on SQLite the rows go to sqlite3 as tuples. Every event row names
# the same columns (``Recorder.event``); interaction rows and changes come in a few shapes, each compiled once.
_INSERT_EVENTS = PrecompiledWrite(
    insert(EVENTS), keys=("tenant_id", "kind", "at", "data", "agent_id", "queue_id", "interaction_id")
)
_inserts: dict[tuple[str, ...], PrecompiledWrite] = {}  # by the columns the new rows name
_changes: dict[tuple[str, ...], PrecompiledWrite] = {}  # by the columns a change sets
# An end is applied only to an interaction still open (another writer may have ended it): its rowcount says which.
_END = PrecompiledWrite(
    update(INTERACTIONS)
    .where(INTERACTIONS.c.id == bindparam("v_id"), INTERACTIONS.c.ended_at.is_(None))
    .values(ended_at=bindparam("v_at"), outcome=bindparam("v_outcome"))
)

_Step = dict[str, Any] | _Close  # what a batch does to a stored interaction: set values, or end it


def _apply(conn: Connection, ops: list[_Write]) -> None:
    new: dict[InteractionRef, dict[str, Any]] = {}  # interactions opened in this batch -> their row
    steps: dict[InteractionRef, list[_Step]] = {}  # stored interactions -> what happens to them, in order
    events: list[tuple[InteractionRef | None, dict[str, Any] | _Close]] = []  # a _Close: its ``ended`` event
    for op in ops:
        match op:
            case _Open(ref=ref, values=values) if ref.id is None:
                new[ref] = {**_CHANGEABLE, **values}
            case _Event(ref=of, values=values):
                events.append((of, dict(values)))
            case _Update(ref=ref, values=values) if ref in new:
                new[ref].update(values)
            case _Update(ref=ref, values=values) if ref.id is not None:
                todo = steps.setdefault(ref, [])
                if todo and isinstance(todo[-1], dict):
                    todo[-1].update(values)
                else:
                    todo.append(dict(values))
            case _Close(ref=ref, at=at, outcome=outcome) if ref in new:
                if new[ref]["ended_at"] is None:
                    new[ref].update(ended_at=at, outcome=outcome)
                    events.append((ref, op))
            case _Close(ref=ref) if ref.id is not None:
                steps.setdefault(ref, []).append(op)
                events.append((ref, op))
            case _:
                pass
    shapes: dict[tuple[str, ...], list[InteractionRef]] = {}  # rows of one shape: one INSERT of many rows
    for ref, row in new.items():
        shapes.setdefault(tuple(sorted(row)), []).append(ref)
    for names, refs in shapes.items():
        if (inserting := _inserts.get(names)) is None:
            inserting = _inserts[names] = PrecompiledWrite(insert(INTERACTIONS), keys=names)
        for ref, interaction_id in zip(refs, inserting.inserted_ids(conn, [new[ref] for ref in refs]), strict=True):
            ref.id = interaction_id
    ended = _change_stored(conn, steps)
    rows = []
    for of, what in events:
        if isinstance(what, _Close):
            if of is None or (of not in new and of not in ended):
                continue  # it had ended already (another writer, a previous run): no second ``ended``
            what = {"tenant_id": of.tenant_id, "kind": Kind.ENDED, "at": what.at, "data": {"outcome": what.outcome}}
        rows.append({"agent_id": None, "queue_id": None, **what, "interaction_id": of.id if of else None})
    _INSERT_EVENTS.many(conn, rows)


def _change_stored(conn: Connection, steps: dict[InteractionRef, list[_Step]]) -> set[InteractionRef]:
    """Apply each stored interaction's steps in order (step k of all of them at once); returns those ended."""
    ended: set[InteractionRef] = set()
    rounds = max((len(todo) for todo in steps.values()), default=0)
    for k in range(rounds):
        sets: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        ends: dict[int, tuple[InteractionRef, _Close]] = {}
        for ref, todo in steps.items():
            if k >= len(todo):
                continue
            step = todo[k]
            if isinstance(step, _Close):
                ends.setdefault(ref.id or 0, (ref, step))
            else:
                sets.setdefault(tuple(sorted(step)), []).append(
                    {**{f"v_{n}": v for n, v in step.items()}, "v_id": ref.id}
                )
        for names, params in sets.items():
            _change(names).many(conn, params)
        if ends:
            ended.update(_end(conn, ends))
    return ended


def _end(conn: Connection, ends: dict[int, tuple[InteractionRef, _Close]]) -> list[InteractionRef]:
    """End each of ``ends`` still open (another writer may have ended one); returns those it ended.

    SQLite: the fixed per-row UPDATE, its rowcount saying which (no round trip: cheaper than compiling the
    statement below for every batch). Elsewhere each statement is a round trip: one UPDATE for them all, which
    says which it ended.
    """
    if conn.dialect.driver == "pysqlite":
        params = [{"v_id": i, "v_at": close.at, "v_outcome": close.outcome} for i, (_, close) in ends.items()]
        changed = _END.rowcounts(conn, params)
        return [ref for (ref, _), count in zip(ends.values(), changed, strict=True) if count]
    at = case({i: close.at for i, (_, close) in ends.items()}, value=INTERACTIONS.c.id)
    outcome = case({i: close.outcome for i, (_, close) in ends.items()}, value=INTERACTIONS.c.id)
    stmt = (
        update(INTERACTIONS)
        .where(INTERACTIONS.c.id.in_(list(ends)), INTERACTIONS.c.ended_at.is_(None))
        .values(ended_at=at, outcome=outcome)
        .returning(INTERACTIONS.c.id)
    )
    return [ends[i][0] for i in conn.execute(stmt).scalars()]


def _change(names: tuple[str, ...]) -> PrecompiledWrite:
    """The UPDATE setting ``names`` of one interaction (``v_<name>``, ``v_id``), compiled at its first use."""
    if (changing := _changes.get(names)) is None:
        values: dict[str, Any] = {name: bindparam(f"v_{name}") for name in names}
        statement = update(INTERACTIONS).where(INTERACTIONS.c.id == bindparam("v_id")).values(values)
        changing = _changes[names] = PrecompiledWrite(statement)
    return changing
