"""A batch of chat messages stored on PostgreSQL in one statement, one round trip, no BEGIN or COMMIT of its own.

The rules are tvoxcc.chat.store.post_many's: each chat's row is locked (``FOR UPDATE``, in id order) and
read as it is now; a message is refused when its chat is closed, or when an agent writes in a chat not
connected to them; the accepted ones are numbered next in their chat in the order posted (the chat's
``next_seq`` advanced by as many), so numbers stay gapless and a refused message takes none. It is run on
asyncpg's own connection, outside any transaction of SQLAlchemy's, so a single statement is its own
transaction: it is stored and committed, or nothing is — a resend's unique (chat_id, client_id) violation
rolls it back whole, numbers included, and post_many then writes the batch's messages one by one as it does
on SQLite. The same statement NOTIFYs the other `web run`s of the numbers it stored (tvoxcc.chat.fanout),
still one round trip.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

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

# The same rules for a batch of one message (the common case: at a few hundred messages a second a write
# seldom finds another waiting), with scalar parameters: no arrays to encode and unnest, no window, one row
# locked by primary key. Measured on a private PostgreSQL with 1,000 chats, one message at a time (median /
# p95, runs of a scratch script): 0.40 / 0.74 ms (0.60 / 0.79 with two other processes LISTENing) against
# POST_BATCH's 0.65-0.79 / 0.87-1.08 ms (0.83-1.00 / 1.08-1.38).
POST_ONE = text(
    """
WITH locked AS MATERIALIZED (
    SELECT id, status, agent_id, channel FROM chats
    WHERE id = :chat_id AND tenant_id = :tenant_id AND status <> :closed
    FOR UPDATE
),
taken AS (
    UPDATE chats SET next_seq = chats.next_seq + 1, updated_at = :now
    FROM locked l
    WHERE chats.id = l.id
        AND (CAST(:sender AS text) <> :agent OR (l.status = :connected AND l.agent_id = :agent_id))
    RETURNING chats.id, chats.next_seq - 1 AS seq, l.channel
),
stored AS (
    INSERT INTO chat_messages (tenant_id, chat_id, seq, sender, body, agent_id, client_id, at, delivery)
    SELECT :tenant_id, t.id, t.seq, :sender, :body, :agent_id, :client_id, :at,
        CASE WHEN CAST(:sender AS text) = :agent AND t.channel = :sms THEN :pending END
    FROM taken t
),
notices AS MATERIALIZED (
    SELECT pg_notify(:fanout, json_build_object(
        'o', CAST(:origin AS text), 't', :tenant_id, 'm', json_build_array(json_build_array(id, seq, seq))
    )::text)
    FROM taken
)
SELECT EXISTS (SELECT FROM locked) AS open, t.seq,
    coalesce(CAST(:sender AS text) = :agent AND t.channel = :sms, false) AS outbound,
    (SELECT count(*) FROM notices) AS notices
FROM (SELECT) AS one LEFT JOIN taken t ON true
"""
)


@dataclass(frozen=True, slots=True)
class Stored:
    """One message's outcome: ``seq`` its number, None when refused (``open``: its chat was open, so the
    refusal is an agent writing in a chat not connected to them)."""

    seq: int | None
    open: bool


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)  # as UTCDateTime stores it


def _numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` with its ``:name`` parameters as asyncpg's ``$n`` (``::type`` casts left alone), and the names
    in their numbers' order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return re.sub(r"(?<!:):([a-z_]+)\b", number, sql), tuple(names)


POST_BATCH_SQL, _PARAMETERS = _numbered(POST_BATCH.text)
POST_ONE_SQL, _ONE_PARAMETERS = _numbered(POST_ONE.text)
_CONSTANTS = {
    "closed": str(ChatStatus.CLOSED),
    "connected": str(ChatStatus.CONNECTED),
    "agent": str(Sender.AGENT),
    "sms": str(Channel.SMS),
    "pending": str(Delivery.PENDING),
    "fanout": fanout.CHANNEL,
    "per_notify": fanout.CHATS_PER_NOTIFY,
}


def _statement(store: Store, tenant_id: int, posts: list[Post]) -> tuple[str, list[Any]]:
    """The statement that stores ``posts`` (POST_ONE for one message, else POST_BATCH) and its arguments."""
    common = {**_CONSTANTS, "tenant_id": tenant_id, "origin": fanout.origin(store)}
    if len(posts) == 1:
        (one,) = posts
        at = _utc(one.now)
        values = {
            **common,
            "now": at,
            "chat_id": one.chat_id,
            "sender": str(one.sender),
            "body": one.body,
            "agent_id": one.agent_id,
            "client_id": one.client_id,
            "at": at,
        }
        return POST_ONE_SQL, [values[name] for name in _ONE_PARAMETERS]
    values = {
        **common,
        "now": _utc(max(one.now for one in posts)),
        "ords": list(range(len(posts))),
        "chat_ids": [one.chat_id for one in posts],
        "senders": [str(one.sender) for one in posts],
        "bodies": [one.body for one in posts],
        "agent_ids": [one.agent_id for one in posts],
        "client_ids": [one.client_id for one in posts],
        "ats": [_utc(one.now) for one in posts],
    }
    return POST_BATCH_SQL, [values[name] for name in _PARAMETERS]


async def _stored(driver: Any, sql: str, statement: Any, arguments: list[Any]) -> list[Stored]:
    """``sql`` run (``statement``: it prepared on ``driver``, asyncpg's connection; None: its text sent); a
    resend's unique violation raised as SQLAlchemy's IntegrityError, as post_many expects."""
    try:
        if statement is not None:
            rows = await statement.fetch(*arguments)
        else:
            rows = await driver.fetch(sql, *arguments)
    except asyncpg.UniqueViolationError as exc:
        raise IntegrityError(sql, arguments, exc) from exc
    if any(row["outbound"] for row in rows):  # an agent's SMS reply: the voice service sends it
        await driver.execute("SELECT pg_notify($1, '')", SMS_NOTIFY)
    return [Stored(row["seq"], row["open"]) for row in rows]


async def store_batch(store: Store, tenant_id: int, posts: list[Post]) -> list[Stored]:
    """``posts`` stored and committed together; each one's outcome, in order.
    Raises IntegrityError (nothing stored) when one is a resend of a stored message."""
    sql, arguments = _statement(store, tenant_id, posts)
    async with store.engine.connect() as conn:  # asyncpg's own: no transaction of SQLAlchemy's, autocommit
        driver = (await conn.get_raw_connection()).driver_connection
        return await _stored(driver, sql, None, arguments)


class BatchWriter:
    """The batch statements on a connection of its own (checked out once, not per batch), each prepared once,
    for one batch at a time (tvoxcc.chat.posting runs a few of these side by side).

    Measured (one message a batch, 800 each alternated, private PostgreSQL on the shared 2-core host): 1.32 ms
    median through SQLAlchemy's execute on an autocommit engine (a checkout, the isolation level set and reset),
    0.91 on asyncpg's connection checked out per batch, 0.74 on one kept with the statement prepared."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._conn: AsyncConnection | None = None
        self._driver: Any = None  # asyncpg's Connection
        self._prepared: dict[str, Any] = {}  # SQL -> asyncpg's PreparedStatement

    async def write(self, tenant_id: int, posts: list[Post]) -> list[Stored]:
        sql, arguments = _statement(self.store, tenant_id, posts)
        try:
            if self._driver is None:
                self._conn = await self.store.engine.connect()
                self._driver = (await self._conn.get_raw_connection()).driver_connection
            statement = self._prepared.get(sql)
            if statement is None:
                statement = self._prepared[sql] = await self._driver.prepare(sql)
            return await _stored(self._driver, sql, statement, arguments)
        except IntegrityError:  # a resend: nothing stored, the connection is sound
            raise
        except Exception:
            await self.close()  # a broken connection: a fresh one for the next batch
            raise

    async def close(self) -> None:
        conn, self._conn, self._driver, self._prepared = self._conn, None, None, {}
        if conn is not None:
            with contextlib.suppress(Exception):  # never back to the pool: a statement may have been cut short
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()
