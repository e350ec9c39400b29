"""The ACD's queue_log file: lines appended after every router call, the file kept open between writes.

Opening and closing it for every router call cost more than the write itself (a few per call). The lines are
flushed at the end of the event loop's turn that wrote them (at once where no loop runs): a reader (tests, an
Asterisk queue_log consumer) sees them as soon as the loop goes on, and the router calls of one turn (a burst of
events) cost one write to the file, not one each (the flush was ~4 % of the voice service's loop at 40
calls/s). Whether the file was moved away (log rotation) is looked at most once every ``recheck_s`` (a stat at
every write cost as much as the write): then the next write opens a new one at the same path, and the lines
written meanwhile are in the moved file.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO


class QueueLogFile:
    def __init__(self, path: Path, *, recheck_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.recheck_s = recheck_s
        self.clock = clock
        self._handle: TextIO | None = None
        self._next_check = 0.0  # when to look again whether the file was moved away
        self._flush_due = False  # a flush is scheduled for the end of this loop turn

    def append(self, lines: Iterable[str]) -> None:
        now = self.clock()
        if self._handle is not None and now >= self._next_check:
            self._next_check = now + self.recheck_s
            if not self.path.exists():
                self.close()
        if self._handle is None:
            self._handle = self.path.open("a", encoding="utf-8")
            self._next_check = now + self.recheck_s
        self._handle.writelines(line + "\n" for line in lines)
        if self._flush_due:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._flush_due = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_due = False
        if self._handle is not None:
            self._handle.flush()

    def close(self) -> None:
        self._flush_due = False
        if self._handle is not None:
            self._handle.close()
            self._handle = None
