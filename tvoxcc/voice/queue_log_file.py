"""The ACD's queue_log file: lines appended after every router call, the file kept open between writes.

Opening and closing it for every router call cost more than the write itself (a few per call). Each write
is flushed, so a reader (tests, an Asterisk queue_log consumer) sees every line at once. Whether the file was
moved away (log rotation) is looked at most once every ``recheck_s`` (a stat at every write cost as much as the
write): then the next write opens a new one at the same path, and the lines written meanwhile are in the moved
file.
"""

from __future__ import annotations

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
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
