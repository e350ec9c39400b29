"""Lanes: work for one call runs in order, work for different calls runs at once.

The ARI events reader must never wait (on the store, on an ARI request, on another call): Asterisk drops
the websocket when its queue for our app grows, and every caller then hears the fallback. So the reader
only puts each event's work in the lane of the call it belongs to (a caller's channel id: its agent legs
and the ACD's commands for it share that lane) and reads on. A lane runs its work one piece at a time, in
the order it was put in; a lane with nothing left to do ends, and costs nothing.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

current_lane: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_lane", default=None)


class Lanes:
    def __init__(self) -> None:
        self._lanes: dict[str, deque[Coroutine[Any, Any, Any]]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        """Lanes with work queued or running."""
        return len(self._lanes)

    def backlog(self) -> int:
        """Pieces of work waiting behind the running ones."""
        return sum(len(lane) for lane in self._lanes.values())

    def submit(self, key: str, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` after everything already in lane ``key``; its failure is logged, never raised."""
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = deque()
            context = contextvars.copy_context()
            context.run(current_lane.set, key)
            self._workers[key] = asyncio.create_task(self._drain(key, lane), name=f"lane-{key}", context=context)
        lane.append(work)

    async def run(self, key: str, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` in lane ``key`` and wait for its result (inline when already in that lane)."""
        if current_lane.get() == key:
            return await work
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()

        async def wrapped() -> None:
            try:
                done.set_result(await work)
            except BaseException as exc:
                if not done.done():
                    done.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise

        self.submit(key, wrapped())
        return await done

    async def _drain(self, key: str, lane: deque[Coroutine[Any, Any, Any]]) -> None:
        try:
            while lane:
                work = lane.popleft()
                try:
                    await work
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("lane %s: %s failed", key, getattr(work, "__qualname__", work))
        finally:
            # No await between the last check of ``lane`` and here: nothing can slip in unseen.
            if self._lanes.get(key) is lane:
                del self._lanes[key]
                self._workers.pop(key, None)
            for left in lane:
                left.close()  # cancelled with work queued: never started, never awaited

    async def close(self) -> None:
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
