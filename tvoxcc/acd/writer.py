"""The ACD's decision rows, group-committed (tvoxcc.store.group_commit), commands released only after commit.

Each decision queues its Changes (tvoxcc.acd.rows) without waiting; the writer merges the decisions gathered
meanwhile and writes them in one transaction, which also checks the lease (a deposed ACD's commit fails:
tvoxcc.acd.lease), marks the requests it applied as taken and stages the commands with every transport.
After the commit the transports release the commands. A decision with commands never lingers: with one
commit in flight the next batch gathers anyway, so a quiet ACD adds one commit's latency before a ring and a
busy one batches by itself. ``linger`` (0 by default) lets the decisions without commands (an agent answered,
a call ended: nothing waits for their commit) wait that long for the next decision that has some, and ride
in its commit: ``voice run`` then commits about once a call instead of three times (offer, accept, complete).
A ``flush`` cuts the linger short, so whatever is acknowledged (an agent's feature code) is committed first.
With the transports of this package the batch is one round trip on a connection of the writer's own
(tvoxcc.acd.one_trip); a transport of another kind stages its commands in a session of the pool instead.
A failed batch is retried whole (nothing is dropped); a lost lease stops the writer.
Statements are SQLAlchemy Core on the tables (not ORM-enabled), and each upsert is built once per dialect,
table and column set: a ring waits for this commit, and building ``excluded`` and the ORM's bulk path cost
more CPU than the write itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.acd.lease import Lease, LeaseLost, core
from tvoxcc.acd.one_trip import OneTrip, one_trip
from tvoxcc.acd.rows import Changes, Row
from tvoxcc.acd.transport import InProcess, InStore, Transport
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.group_commit import GroupCommit
from tvoxcc.store.types import utcnow


class DecisionWriter(GroupCommit[Changes]):
    name = "acd-writer"

    def __init__(
        self,
        store: Store,
        lease: Lease,
        transports: Sequence[Transport],
        *,
        build: Callable[[Changes], None] | None = None,
        max_batch: int = 5000,
        linger: float = 0.0,
    ) -> None:
        super().__init__(store, max_batch=max_batch, linger=linger)
        self.lease = lease
        self.transports = transports
        self.build = build  # fills the rows of what the batch's decisions touched (the service's router)
        self.lost: LeaseLost | None = None
        self._trip: OneTrip | None = None  # chosen at the first batch (None: the session path)
        self._chosen = False
        self._in_store: InStore | None = None  # its batch writes the commands it keeps as acd_commands rows

    def urgent(self, op: Changes) -> bool:
        """A decision with commands: its adapters wait for its commit (an offer rings only once committed)."""
        return bool(op.commands)

    def prepare(self, ops: list[Changes]) -> list[Changes]:
        """One Changes for the batch, its rows built now: no decision runs between the batch's last one and this."""
        merged = Changes()
        for changes in ops:
            merged.merge(changes)
        if self.build is not None:
            self.build(merged)
        return [merged]

    async def transact(self, ops: list[Changes]) -> None:
        """One round trip (tvoxcc.acd.one_trip) when the transports are the ones it knows; else a session."""
        if not self._chosen:
            self._trip, self._chosen = self._one_trip(), True
        trip = self._trip
        if trip is None:
            await super().transact(ops)
            return
        merged = ops[0] if len(ops) == 1 else _merged(ops)
        stored = self._in_store.kept(merged.commands) if self._in_store is not None else []
        if not await trip.write(merged, self.lease.fence_of(merged.router_at), stored):
            raise self.lease.lost()

    def _one_trip(self) -> OneTrip | None:
        stages: list[object] = [type(t).stage for t in self.transports]
        if any(stage not in (InProcess.stage, InStore.stage) for stage in stages) or stages.count(InStore.stage) > 1:
            return None  # a transport of its own stages in the session: the session path
        self._in_store = next((t for t in self.transports if isinstance(t, InStore)), None)
        return one_trip(self.store)

    async def abandon(self) -> None:
        await super().abandon()
        trip, self._trip, self._chosen = self._trip, None, False
        if trip is not None:
            await trip.close()

    async def write(self, session: AsyncSession, ops: list[Changes]) -> None:
        merged = _merged(ops)
        await self.lease.fence(session, merged.router_at)
        await write_changes(session, merged)
        for transport in self.transports:
            await transport.stage(session, merged.commands)

    async def committed(self, ops: list[Changes]) -> None:
        commands = [command for changes in ops for command in changes.commands]
        for transport in self.transports:
            await transport.release(commands)

    async def failed(self, ops: list[Changes], error: Exception) -> bool:
        if isinstance(error, LeaseLost):
            self.lost = error
            raise error
        return await super().failed(ops, error)


def _merged(ops: list[Changes]) -> Changes:
    merged = Changes()
    for changes in ops:
        merged.merge(changes)
    return merged


async def write_changes(session: AsyncSession, changes: Changes) -> None:
    now = utcnow()
    gone = [item_id for item_id, row in changes.items.items() if row is None]
    if gone:
        items_table: Any = m.AcdItem.__table__  # Core statements: no ORM bookkeeping on the hot path
        await session.execute(delete(items_table).where(m.AcdItem.item_id.in_(gone)))
    items = [{**row, "updated_at": now} for row in changes.items.values() if row is not None]
    await _upsert(session, m.AcdItem, "item_id", items)
    await _upsert(session, m.AcdAgent, "agent_id", [{**row, "updated_at": now} for row in changes.agents.values()])
    await _upsert(session, m.AcdQueue, "name", [{**row, "updated_at": now} for row in changes.queues.values()])
    inputs = core(m.AcdInput)
    for seq, error in changes.inputs.items():
        await session.execute(update(inputs).where(inputs.c.seq == seq).values(taken_at=now, error=error))


async def replace_all(session: AsyncSession, changes: Changes) -> None:
    """The whole state at once (after a restore or a configuration change): rows not in it are removed."""
    await session.execute(delete(m.AcdItem).where(m.AcdItem.item_id.not_in(list(changes.items))))
    await session.execute(delete(m.AcdAgent).where(m.AcdAgent.agent_id.not_in(list(changes.agents))))
    await session.execute(delete(m.AcdQueue).where(m.AcdQueue.name.not_in(list(changes.queues))))
    await write_changes(session, changes)


async def _upsert(session: AsyncSession, table: Any, key: str, rows: list[Row]) -> None:
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table.__table__)  # Core: an executemany, not the ORM's bulk path (2-3x the CPU)
    columns = [name for name in rows[0] if name != key]
    statement = insert.on_conflict_do_update(
        index_elements=[key], set_={name: insert.excluded[name] for name in columns}
    )
    await session.execute(statement, rows)
