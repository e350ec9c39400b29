"""A chat's life, pure: its states and the moves between them, its ACD item ids, the visitor's limits.

    open ──submit──> queued ──offer──> offered ──accept──> connected ──close──> closed
                       ^  <──cancel/decline (RONA)──┘          │
                       └────────────transfer (next leg)────────┘
    queued/offered ──close (the visitor left)──> closed

Every state change of a chat goes through ``move``: a request that does not fit the state (accepting a
chat offered to someone else, answering a closed one) is refused with one clear reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ChatStatus(StrEnum):
    OPEN = "open"  # created, not yet submitted to the ACD
    QUEUED = "queued"  # its item waits in a queue
    OFFERED = "offered"  # its item rings an agent's desktop
    CONNECTED = "connected"  # an agent took it
    CLOSED = "closed"


class ChatEvent(StrEnum):
    SUBMIT = "submit"
    OFFER = "offer"
    CANCEL = "cancel"  # the offer ended without an answer (ring timeout) or was declined: RONA
    ACCEPT = "accept"
    TRANSFER = "transfer"  # to a queue: this leg's item completes, the next one waits there
    CLOSE = "close"


class Sender(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"  # what the center says about the chat (joined, transferred, closed)


class ChatError(Exception):
    """A request the chat's state refuses (one line for the person who asked)."""


_MOVES: dict[tuple[ChatStatus, ChatEvent], ChatStatus] = {
    (ChatStatus.OPEN, ChatEvent.SUBMIT): ChatStatus.QUEUED,
    (ChatStatus.QUEUED, ChatEvent.OFFER): ChatStatus.OFFERED,
    (ChatStatus.OFFERED, ChatEvent.OFFER): ChatStatus.OFFERED,  # ring-all: another desktop rings too
    (ChatStatus.OFFERED, ChatEvent.CANCEL): ChatStatus.QUEUED,
    (ChatStatus.OFFERED, ChatEvent.ACCEPT): ChatStatus.CONNECTED,
    (ChatStatus.CONNECTED, ChatEvent.TRANSFER): ChatStatus.QUEUED,
    (ChatStatus.OPEN, ChatEvent.CLOSE): ChatStatus.CLOSED,
    (ChatStatus.QUEUED, ChatEvent.CLOSE): ChatStatus.CLOSED,
    (ChatStatus.OFFERED, ChatEvent.CLOSE): ChatStatus.CLOSED,
    (ChatStatus.CONNECTED, ChatEvent.CLOSE): ChatStatus.CLOSED,
}


def move(status: ChatStatus, event: ChatEvent) -> ChatStatus:
    """The state after ``event``; ChatError when the chat's state does not allow it."""
    after = _MOVES.get((status, event))
    if after is None:
        raise ChatError(f"a chat {status} cannot be {_DONE[event]}")
    return after


_DONE = {
    ChatEvent.SUBMIT: "queued",
    ChatEvent.OFFER: "offered",
    ChatEvent.CANCEL: "given back to its queue",
    ChatEvent.ACCEPT: "accepted",
    ChatEvent.TRANSFER: "transferred",
    ChatEvent.CLOSE: "closed",
}

ACTIVE = frozenset({ChatStatus.QUEUED, ChatStatus.OFFERED, ChatStatus.CONNECTED})


def chat_item(tenant_id: int, chat_id: int, leg: int) -> str:
    """The ACD item of one leg of a chat (a transfer starts a new leg: a new item in the target queue)."""
    return f"chat-{tenant_id}-{chat_id}-{leg}"


def chat_of_item(item_id: str) -> tuple[int, int, int] | None:
    """(tenant, chat, leg) of a chat item id; None for any other item."""
    parts = item_id.split("-")
    if len(parts) != 4 or parts[0] != "chat" or not all(p.isdigit() for p in parts[1:]):
        return None
    return int(parts[1]), int(parts[2]), int(parts[3])


# -- what a visitor may send ---------------------------------------------------------------------------

MAX_BODY = 2000  # characters in one message
MAX_NAME = 100
MAX_EMAIL = 254


def clean_body(body: object) -> str:
    """A message's text, trimmed; ChatError when empty, not text, or longer than MAX_BODY."""
    if not isinstance(body, str):
        raise ChatError("a message is text")
    text = body.strip()
    if not text:
        raise ChatError("an empty message is not sent")
    if len(text) > MAX_BODY:
        raise ChatError(f"a message is at most {MAX_BODY} characters")
    return text


@dataclass
class RateLimit:
    """A token bucket per key (a visitor's address, a chat): ``burst`` at once, then ``per_s`` a second.
    Time is the caller's (seconds); keys idle long enough to be full again are forgotten."""

    per_s: float
    burst: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, at)

    def allow(self, key: str, now: float) -> bool:
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.per_s)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > 10_000:
            self._forget(now)
        return True

    def _forget(self, now: float) -> None:
        full_after = self.burst / self.per_s
        for key in [k for k, (_, at) in self._buckets.items() if now - at > full_after]:
            del self._buckets[key]
