"""The hash chain, pure: how a row's hash is made, and where a sequence of rows stops checking out.

hash(n) = sha256(hash(n-1) + canonical JSON of row n's content), hash(0) = "". Editing a row breaks its
own hash; deleting one leaves a gap in ``seq`` and a ``prev_hash`` that names no stored row; deleting the
last ones leaves the head row (which every writer updates) pointing past the end.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = ""


@dataclass(frozen=True, slots=True)
class Link:
    """One stored row as the chain sees it."""

    seq: int
    at: datetime
    actor: str
    action: str
    tenant: str | None
    subject: str
    detail: Mapping[str, Any]
    prev_hash: str
    hash: str


def canonical(seq: int, at: datetime, actor: str, action: str, tenant: str | None, subject: str, detail: Any) -> bytes:
    """The bytes a row's hash covers: sorted keys, no spaces, UTC time to the microsecond."""
    body = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "tenant": tenant,
        "subject": subject,
        "detail": detail,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def link_hash(prev_hash: str, content: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + content).hexdigest()


class ChainCheck:
    """Feed rows in ``seq`` order (in pages, so a long log needs no memory), then ``finish`` with the head."""

    def __init__(self) -> None:
        self.expected_seq = 1
        self.prev = GENESIS
        self.problem: str | None = None

    def feed(self, row: Link) -> str | None:
        """The first problem so far; rows after one are not looked at."""
        if self.problem is None:
            self.problem = self._check(row)
        return self.problem

    def _check(self, row: Link) -> str | None:
        if row.seq != self.expected_seq:
            return f"row seq {row.seq}: rows {self.expected_seq}..{row.seq - 1} are missing (deleted)"
        if row.prev_hash != self.prev:
            return f"row seq {row.seq}: does not link to row {row.seq - 1} (previous row edited or replaced)"
        content = canonical(row.seq, row.at, row.actor, row.action, row.tenant, row.subject, row.detail)
        if link_hash(self.prev, content) != row.hash:
            return f"row seq {row.seq}: content does not match its hash (edited)"
        self.expected_seq, self.prev = row.seq + 1, row.hash
        return None

    def finish(self, head_seq: int, head_hash: str) -> str | None:
        if self.problem is not None:
            return self.problem
        last = self.expected_seq - 1
        if head_seq > last:
            return f"row seq {last + 1}: rows {last + 1}..{head_seq} are missing (deleted)"
        if head_seq < last:
            return f"row seq {head_seq + 1}: rows past the chain's head (seq {head_seq}) were added outside the log"
        if head_hash != self.prev:
            return f"row seq {last}: does not match the chain's head (edited)"
        return None


def first_break(rows: Iterable[Link], head_seq: int, head_hash: str) -> str | None:
    """None when every row checks out in ``seq`` order; else one line naming the first bad row."""
    check = ChainCheck()
    for row in rows:
        if check.feed(row):
            break
    return check.finish(head_seq, head_hash)
