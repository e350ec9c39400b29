"""Group commit of chat messages: the messages sockets post while a write is under way are written together.

One transaction per batch (tvoxcc.chat.store.post_many: one statement and one round trip whatever its size on
PostgreSQL, two statements on SQLite) instead of one per message, so a busy `web run` writes at the rate of
its batches, not of its messages. No timer: an idle store writes a lone message at once, and only what
arrives during a write waits for the next one. A sender is answered (and its message relayed) only after the
commit that stored it, with its number. On PostgreSQL the batch's statement also tells the other `web run`s
which numbers it stored (tvoxcc.chat.fanout), so they push them to their sockets of the same chats.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

from tvoxcc.chat.core import ChatError
from tvoxcc.chat.posting_pg import BatchWriter
from tvoxcc.chat.store import Message, Post, post_many
from tvoxcc.store.engine import Store

MAX_BATCH = 500  # messages in one INSERT at most (a bounded statement; the rest go in the next batch)


class Poster:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._waiting: list[tuple[int, Post, asyncio.Future[Message | ChatError]]] = []
        self._writer: asyncio.Task[None] | None = None
        # PostgreSQL: the batches on one connection kept with the statement prepared (tvoxcc.chat.posting_pg)
        self._batches = BatchWriter(store) if store.engine.dialect.name == "postgresql" else None

    async def post(self, tenant_id: int, post: Post) -> Message:
        """The message stored with its number (after the commit); ChatError when it is refused."""
        done: asyncio.Future[Message | ChatError] = asyncio.get_running_loop().create_future()
        self._waiting.append((tenant_id, post, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        result = await asyncio.shield(done)  # a sender gone still has its message stored (a resend finds it)
        if isinstance(result, ChatError):
            raise result
        return result

    async def stop(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer
        if self._batches is not None:
            await self._batches.close()

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            by_tenant: dict[int, list[tuple[Post, asyncio.Future[Message | ChatError]]]] = defaultdict(list)
            for tenant_id, post, done in batch:
                by_tenant[tenant_id].append((post, done))
            for tenant_id, waiting in by_tenant.items():
                try:
                    results = await post_many(self.store, tenant_id, [post for post, _ in waiting], self._batches)
                except Exception as exc:  # the store failed: every sender of the batch is told
                    for _, done in waiting:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                for (_, done), result in zip(waiting, results, strict=True):
                    if not done.done():
                        done.set_result(result)
