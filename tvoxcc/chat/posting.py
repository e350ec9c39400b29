"""Group commit of chat messages: the messages sockets post while the writes are busy are written together.

One transaction per batch (tvoxcc.chat.store.post_many: one statement and one round trip whatever its size on
PostgreSQL, two statements on SQLite) instead of one per message, so a busy `web run` writes at the rate of
its batches, not of its messages. No timer: an idle store writes a lone message at once. On PostgreSQL up to
``WRITERS`` batches are written side by side, each on a connection of its own, so a message arriving while
one is written does not wait for it — unless its chat is in that batch: a chat has one batch in flight at a
time, so its messages are numbered in the order posted. Only what arrives while every writer is busy (or its
chat's batch is) waits for the next one. A sender is answered (and its message relayed) only after the commit
that stored it, with its number. On PostgreSQL the batch's statement also tells the other `web run`s which
numbers it stored (tvoxcc.chat.fanout), so they push them to their sockets of the same chats.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from tvoxcc.chat.core import ChatError
from tvoxcc.chat.posting_pg import BatchWriter
from tvoxcc.chat.store import Message, Post, post_many
from tvoxcc.store.engine import Store

MAX_BATCH = 500  # messages in one INSERT at most (a bounded statement; the rest go in the next batch)
# Batches in flight at once on PostgreSQL. At one, a message that found a write under way waited for it and
# then for its own, and a chat whose row a long transaction held locked held up every other chat's messages
# (tests/test_chat_posting.py); bench/chat.py p95 2.16-2.36 ms at three against 2.27-2.53 at one (full runs,
# alternated). SQLite has one writer whatever we do.
WRITERS = 3


@dataclass(frozen=True, slots=True)
class _Waiting:
    tenant_id: int
    post: Post
    done: asyncio.Future[Message | ChatError]


class Poster:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._waiting: list[_Waiting] = []
        self._busy: set[int] = set()  # chats with a batch in flight
        self._writing: set[asyncio.Task[None]] = set()
        # PostgreSQL: each batch on one of these, a connection kept with the statements prepared
        # (tvoxcc.chat.posting_pg); SQLite: one batch at a time on the store's session.
        postgres = store.engine.dialect.name == "postgresql"
        self._idle: list[BatchWriter | None] = [BatchWriter(store) for _ in range(WRITERS)] if postgres else [None]
        self._writers = list(self._idle)

    async def post(self, tenant_id: int, post: Post) -> Message:
        """The message stored with its number (after the commit); ChatError when it is refused."""
        done: asyncio.Future[Message | ChatError] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(tenant_id, post, done))
        self._start_writes()
        result = await asyncio.shield(done)  # a sender gone still has its message stored (a resend finds it)
        if isinstance(result, ChatError):
            raise result
        return result

    async def stop(self) -> None:
        while self._writing:
            await asyncio.gather(*self._writing, return_exceptions=True)
        for writer in self._writers:
            if writer is not None:
                await writer.close()

    def _start_writes(self) -> None:
        while self._idle and (batch := self._next_batch()):
            task = asyncio.create_task(self._write(self._idle.pop(), batch))
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)

    def _next_batch(self) -> list[_Waiting]:
        """The next batch taken from the waiting messages: the first one's tenant's, in the order posted, at
        most MAX_BATCH, none of a chat with a batch in flight (its messages wait, keeping their order)."""
        batch: list[_Waiting] = []
        left: list[_Waiting] = []
        for one in self._waiting:
            fits = len(batch) < MAX_BATCH and one.post.chat_id not in self._busy
            if fits and (not batch or one.tenant_id == batch[0].tenant_id):
                batch.append(one)
            else:
                left.append(one)
        self._waiting = left
        self._busy.update(one.post.chat_id for one in batch)
        return batch

    async def _write(self, writer: BatchWriter | None, batch: list[_Waiting]) -> None:
        try:
            results = await post_many(self.store, batch[0].tenant_id, [one.post for one in batch], writer)
        except Exception as exc:  # the store failed: every sender of the batch is told
            for one in batch:
                if not one.done.done():
                    one.done.set_exception(exc)
        else:
            for one, result in zip(batch, results, strict=True):
                if not one.done.done():
                    one.done.set_result(result)
        finally:
            self._busy.difference_update(one.post.chat_id for one in batch)
            self._idle.append(writer)
            self._start_writes()
