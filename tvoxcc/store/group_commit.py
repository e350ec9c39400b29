"""Group commit: callers queue writes without waiting; one writer task commits whatever gathered, in one transaction.

A caller ``put``s an op (a plain method call, no await) and goes on. The writer takes everything queued
meanwhile (up to ``max_batch``) and writes it in one transaction; while that commit runs the next batch
gathers, so the busier the callers the bigger the batches, and the database sees a few commits a second
instead of one per op. ``linger`` (seconds) waits after the first op of a batch for more: a quiet writer
then commits less often, at the price of that much latency (0: commit at once). Nobody waiting for an
acknowledgement waits for the linger: a ``flush``, or an op the subclass calls ``urgent`` (the ACD: a decision
with commands, which its adapters carry out only once committed), cuts it short, and the batch holds
everything queued up to then.

``await flush()`` returns once everything queued before it is committed. Ops are written in the order they
were queued. ``prepare`` sees each batch as it is taken (the ACD builds its rows there, once per batch); what
to write is the subclass's ``write`` (``transact`` writes and commits it: a session of the pool by default;
the recorder overrides it with a Core connection, the ACD with its one round trip); ``committed`` runs after
each commit (before the flushes waiting on that batch are released); ``failed`` decides what a failed batch
becomes: by default it is retried whole after ``retry_s``, for ever (nothing is dropped), the recorder
writes it op by op instead.
Users: the voice recorder (interactions and their events, tvoxcc.voice.recorder) and the ACD's decision rows
(tvoxcc.acd.writer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.store.engine import Store

log = logging.getLogger(__name__)

Op = TypeVar("Op")


@dataclass(frozen=True, slots=True)
class _Barrier:
    done: asyncio.Future[None]


class GroupCommit(Generic[Op]):
    name = "group-commit"

    def __init__(self, store: Store, *, max_batch: int = 2000, linger: float = 0.0, retry_s: float = 1.0) -> None:
        self.store = store
        self.max_batch = max_batch
        self.linger = linger
        self.retry_s = retry_s
        self._ops: asyncio.Queue[Op | _Barrier] = asyncio.Queue()
        self._urgent = asyncio.Event()  # set: a flush or an urgent op is queued, the linger ends now
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # committed transactions (a figure for tests and benches)
        self.written = 0  # ops committed

    # -- subclass hooks ------------------------------------------------------------------------------

    async def write(self, session: AsyncSession, ops: list[Op]) -> None:
        raise NotImplementedError

    def urgent(self, op: Op) -> bool:
        """True: ``op`` must not wait for the linger (by default none does; a ``flush`` always cuts it)."""
        return False

    def prepare(self, ops: list[Op]) -> list[Op]:
        """The batch as it is taken from the queue, before any await (what the callers did up to its last op, and
        nothing after): the ops to write, commit and retry (by default, as they came)."""
        return ops

    async def committed(self, ops: list[Op]) -> None:
        """After the batch's commit."""

    async def failed(self, ops: list[Op], error: Exception) -> bool:
        """A batch's transaction failed: True writes it again (by default, after ``retry_s``: the writer holds
        later ops meanwhile); False leaves it (the hook did what it could); raising gives up on the writer's
        flushes waiting for it."""
        log.warning("%s: a batch of %d failed (%s); retrying in %.1f s", self.name, len(ops), error, self.retry_s)
        await asyncio.sleep(self.retry_s)
        return True

    # -- callers ----------------------------------------------------------------------------------------

    def put(self, op: Op) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._write_forever(), name=self.name)
        self._ops.put_nowait(op)
        if self.linger and self.urgent(op):
            self._urgent.set()

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._task is None:
            self._task = asyncio.create_task(self._write_forever(), name=self.name)
        self._ops.put_nowait(_Barrier(done))
        self._urgent.set()
        await done

    async def close_writer(self) -> None:
        """Write what is queued, then stop the writer."""
        if self._task is None:
            return
        if not self._task.done():
            await self.flush()
        await self.abandon()

    async def abandon(self) -> None:
        """Stop the writer now, dropping what is queued and not committed (a crash, a lost lease)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        while not self._ops.empty():
            op = self._ops.get_nowait()
            if isinstance(op, _Barrier) and not op.done.done():
                op.done.cancel()

    # -- the writer --------------------------------------------------------------------------------------

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._ops.get()]
            first = batch[0]
            if self.linger and not isinstance(first, _Barrier) and not self.urgent(first):
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.linger):
                        await self._urgent.wait()
            self._urgent.clear()  # what set it is taken below; one queued from now on sets it again
            while len(batch) < self.max_batch and not self._ops.empty():
                batch.append(self._ops.get_nowait())
            ops = [op for op in batch if not isinstance(op, _Barrier)]
            try:
                if ops:
                    ops = self.prepare(ops)
                    await self._write(ops)
            except Exception as error:  # the subclass gave up on it: the flushes waiting learn why
                for op in batch:
                    if isinstance(op, _Barrier) and not op.done.done():
                        op.done.set_exception(error)
                continue
            for op in batch:
                if isinstance(op, _Barrier) and not op.done.done():
                    op.done.set_result(None)

    async def transact(self, ops: list[Op]) -> None:
        """Write the batch and commit it: by default ``write`` in a session of the store's pool (a subclass with a
        faster way of its own, like the ACD's one round trip, overrides this)."""
        async with self.store.session() as session:
            await self.write(session, ops)
            await session.commit()

    async def _write(self, ops: list[Op]) -> None:
        while True:
            try:
                await self.transact(ops)
            except Exception as error:
                if await self.failed(ops, error):
                    continue
                return
            self.batches += 1
            self.written += len(ops)
            await self.committed(ops)
            return
