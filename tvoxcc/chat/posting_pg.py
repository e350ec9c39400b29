"""A batch of chat messages stored on PostgreSQL in one statement, one round trip, no BEGIN or COMMIT of its own.

The rules are tvoxcc.chat.store.post_many's: each chat's row is locked (``FOR UPDATE``, in id order) and
read as it is now; a message is refused when its chat is closed, or when an agent writes in a chat not
connected to them; the accepted ones are numbered next in their chat in the order posted (the chat's
``next_seq`` advanced by as many), so numbers stay gapless and a refused message takes none. A single
statement runs in its own transaction (the connection is in autocommit): it is stored and committed, or
nothing is — a resend's unique (chat_id, client_id) violation rolls it back whole, numbers included, and
post_many then writes the batch's messages one by one as it does on SQLite. The same statement NOTIFYs the
other `web run`s of the numbers it stored (tvoxcc.chat.fanout), still one round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tvoxcc.chat import fanout
from tvoxcc.chat.core import ChatStatus, Sender
from tvoxcc.chat.sms import NOTIFY_CHANNEL as SMS_NOTIFY
from tvoxcc.chat.sms import Delivery
from tvoxcc.queues.model import Channel
from tvoxcc.store.engine import Store

if TYPE_CHECKING:
    from tvoxcc.chat.store import Post

# posted: the batch, one row per message (ord: its place in the batch); locked: its chats' rows still open,
# found by primary key from the array (``id IN (SELECT … FROM posted)`` was planned as a scan of every chat of
# the tenant: at 1,000 chats the statement took p50 2.61 ms, now 1.49; bench/chat.py p95 10.97 -> 7.49 ms);
# accepted: the messages the checks let through, k-th of their chat; taken: each chat's first new number;
# notices: the other `web run`s told which numbers each chat has new (tvoxcc.chat.fanout; a NOTIFY is sent
# at the commit, so with the statement's own; at most CHATS_PER_NOTIFY chats a payload).
POST_BATCH = text(
    """
WITH posted AS MATERIALIZED (
    SELECT * FROM unnest(
        CAST(:ords AS int[]), CAST(:chat_ids AS int[]), CAST(:senders AS text[]), CAST(:bodies AS text[]),
        CAST(:agent_ids AS int[]), CAST(:client_ids AS text[]), CAST(:ats AS timestamptz[])
    ) AS p(ord, chat_id, sender, body, agent_id, client_id, at)
),
locked AS MATERIALIZED (
    SELECT id, status, agent_id, channel FROM chats
    WHERE id = ANY(CAST(:chat_ids AS int[])) AND tenant_id = :tenant_id AND status <> :closed
    ORDER BY id FOR UPDATE
),
accepted AS MATERIALIZED (
    SELECT p.*, l.channel, row_number() OVER (PARTITION BY p.chat_id ORDER BY p.ord) AS k
    FROM posted p JOIN locked l ON l.id = p.chat_id
    WHERE p.sender <> :agent OR (l.status = :connected AND l.agent_id = p.agent_id)
),
taken AS (
    UPDATE chats SET next_seq = chats.next_seq + n.n, updated_at = :now
    FROM (SELECT chat_id, count(*) AS n FROM accepted GROUP BY chat_id) AS n
    WHERE chats.id = n.chat_id
    RETURNING chats.id, chats.next_seq - n.n AS first, n.n AS n
),
stored AS (
    INSERT INTO chat_messages (tenant_id, chat_id, seq, sender, body, agent_id, client_id, at, delivery)
    SELECT :tenant_id, a.chat_id, t.first + a.k - 1, a.sender, a.body, a.agent_id, a.client_id, a.at,
        CASE WHEN a.sender = :agent AND a.channel = :sms THEN :pending END
    FROM accepted a JOIN taken t ON t.id = a.chat_id
),
notices AS MATERIALIZED (
    SELECT pg_notify(:fanout, json_build_object(
        'o', CAST(:origin AS text), 't', :tenant_id, 'm', json_agg(json_build_array(id, first, first + n - 1))
    )::text)
    FROM (SELECT *, (row_number() OVER (ORDER BY id) - 1) / CAST(:per_notify AS int) AS part FROM taken) AS parts
    GROUP BY part
)
SELECT p.ord, l.id IS NOT NULL AS open, t.first + a.k - 1 AS seq, a.sender = :agent AND a.channel = :sms AS outbound,
    (SELECT count(*) FROM notices) AS notices
FROM posted p
LEFT JOIN locked l ON l.id = p.chat_id
LEFT JOIN accepted a ON a.ord = p.ord
LEFT JOIN taken t ON t.id = p.chat_id
ORDER BY p.ord
"""
)

AUTOCOMMIT_KEY = "chat.posting_pg.autocommit"  # in Store.extras: the engine whose connections commit each statement


@dataclass(frozen=True, slots=True)
class Stored:
    """One message's outcome: ``seq`` its number, None when refused (``open``: its chat was open, so the
    refusal is an agent writing in a chat not connected to them)."""

    seq: int | None
    open: bool


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)  # as UTCDateTime stores it


def _autocommit(store: Store) -> AsyncEngine:
    engine = store.extras.get(AUTOCOMMIT_KEY)
    if engine is None:
        engine = store.extras[AUTOCOMMIT_KEY] = store.engine.execution_options(isolation_level="AUTOCOMMIT")
    assert isinstance(engine, AsyncEngine)
    return engine


async def store_batch(store: Store, tenant_id: int, posts: list[Post]) -> list[Stored]:
    """``posts`` stored and committed together; each one's outcome, in order.
    Raises IntegrityError (nothing stored) when one is a resend of a stored message."""
    params = {
        "tenant_id": tenant_id,
        "now": _utc(max(one.now for one in posts)),
        "ords": list(range(len(posts))),
        "chat_ids": [one.chat_id for one in posts],
        "senders": [str(one.sender) for one in posts],
        "bodies": [one.body for one in posts],
        "agent_ids": [one.agent_id for one in posts],
        "client_ids": [one.client_id for one in posts],
        "ats": [_utc(one.now) for one in posts],
        "closed": str(ChatStatus.CLOSED),
        "connected": str(ChatStatus.CONNECTED),
        "agent": str(Sender.AGENT),
        "sms": str(Channel.SMS),
        "pending": str(Delivery.PENDING),
        "fanout": fanout.CHANNEL,
        "origin": fanout.origin(store),
        "per_notify": fanout.CHATS_PER_NOTIFY,
    }
    async with _autocommit(store).connect() as conn:
        rows = (await conn.execute(POST_BATCH, params)).all()
        if any(row.outbound for row in rows):  # an agent's SMS reply: the voice service sends it
            await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": SMS_NOTIFY})
    return [Stored(row.seq, row.open) for row in rows]
