"""What one `web run` tells the others about its chats (PostgreSQL NOTIFY on ``CHANNEL``), so several share them.

Two kinds of payload, JSON, each well under PostgreSQL's 8,000 bytes:
- messages stored: ``{"o": origin, "t": tenant, "m": [[chat, first seq, last seq], ...]}``, sent by the same
  statement that stores a batch (tvoxcc.chat.posting_pg; at most ``CHATS_PER_NOTIFY`` chats a payload);
- an event of a chat (its state after a move, a typing hint): ``{"o": origin, "c": chat, "a": agent row or
  null, "e": event}``, sent by the hub that made it (tvoxcc.web.chat_hub).
``origin`` names the Store (one per process) that sent it: a hub skips its own, which it pushed already.
SQLite is a single-machine store served by one `web run`: nothing is sent there.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from tvoxcc.store.engine import Store

CHANNEL = "tvoxcc_chat"
CHATS_PER_NOTIFY = 200  # [chat, first, last] is at most ~35 bytes: 200 of them stay far below 8,000 bytes
_ORIGIN_KEY = "chat.fanout.origin"


def origin(store: Store) -> str:
    """This process's name for its NOTIFYs (random, one per Store)."""
    value = store.extras.get(_ORIGIN_KEY)
    if value is None:
        value = store.extras[_ORIGIN_KEY] = secrets.token_hex(8)
    assert isinstance(value, str)
    return value


@dataclass(frozen=True, slots=True)
class Stored:
    """Messages ``first``..``last`` of ``chat`` were stored (and committed)."""

    tenant_id: int
    chat_id: int
    first: int
    last: int


@dataclass(frozen=True, slots=True)
class ChatEvent:
    """An event for the listeners of ``chat_id`` (and a look again for ``agent_row``'s desktops when set)."""

    chat_id: int
    agent_row: int | None
    event: dict[str, Any]


def event_payload(sender: str, chat_id: int, agent_row: int | None, event: dict[str, Any]) -> str:
    return json.dumps({"o": sender, "c": chat_id, "a": agent_row, "e": event}, separators=(",", ":"))


def parse(payload: str, me: str) -> list[Stored | ChatEvent]:
    """What a payload says, [] when this process sent it (or it is not one of ours)."""
    try:
        body = json.loads(payload)
        if not isinstance(body, dict) or body.get("o") == me:
            return []
        if "m" in body:
            tenant = int(body["t"])
            return [Stored(tenant, int(chat), int(first), int(last)) for chat, first, last in body["m"]]
        agent = body.get("a")
        event = body["e"]
        if not isinstance(event, dict):
            return []
        return [ChatEvent(int(body["c"]), None if agent is None else int(agent), event)]
    except (ValueError, KeyError, TypeError):
        return []
