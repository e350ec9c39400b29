"""The ACD's queue_log file: lines appended after every router call, the file kept open between writes.

Opening and closing it for every router call cost more than the write itself (a few per call). Each write
is flushed, so a reader (tests, an Asterisk queue_log consumer) sees every line at once; when the file was
moved away (log rotation), the next write opens a new one at the same path.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TextIO


class QueueLogFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: TextIO | None = None

    def append(self, lines: Iterable[str]) -> None:
        if self._handle is None or not self.path.exists():
            self.close()
            self._handle = self.path.open("a", encoding="utf-8")
        self._handle.writelines(line + "\n" for line in lines)
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
