"""Group commit of chat messages (tvoxcc.chat.store.post_many, tvoxcc.chat.posting), on SQLite and PostgreSQL.

Many messages written in one transaction keep the single-message rules: numbers gapless per chat in the
order posted, a refused message (closed chat, agent not connected) takes no number, a resend in a batch is
stored once and answered with the stored message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, text

from tests.chat_world import imported_tenant
from tvoxcc.chat import fanout
from tvoxcc.chat import routing_store as routing
from tvoxcc.chat.core import ChatError, Sender
from tvoxcc.chat.posting import Poster
from tvoxcc.chat.store import Message, Post, messages_after, open_chat, post, post_many
from tvoxcc.store.engine import Store
from tvoxcc.store.notify import Wake

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DOC = {
    "tenant": {"name": "acme"},
    "services": [{"name": "web", "channels": ["chat"]}],
    "queues": [{"name": "chat", "service": "web"}],
    "agents": [{"name": "ann", "extension": "201", "queues": ["chat"], "capacity": {"chat": 2}}],
}


@pytest.fixture
async def tenant(store: Store) -> int:
    return await imported_tenant(store, DOC)


async def new_chat(store: Store, tenant: int, name: str) -> int:
    chat, _ = await open_chat(store, tenant, "web", name=name, email="", now=NOW)
    return chat.chat_id


@asynccontextmanager
async def message_writes(store: Store) -> AsyncIterator[list[str]]:
    """The writes that stored chat messages while inside, known on leaving: on SQLite each statement inserting
    into chat_messages, on PostgreSQL each transaction that inserted rows there (their distinct ``xmin``: the
    batch's one statement locks, numbers and inserts, tvoxcc.chat.posting_pg, on asyncpg's connection)."""
    seen: list[str] = []
    if store.engine.dialect.name == "postgresql":
        async with store.session() as session:
            before = (await session.execute(text("SELECT coalesce(max(id), 0) FROM chat_messages"))).scalar_one()
        yield seen
        async with store.session() as session:
            writes = await session.execute(
                text("SELECT DISTINCT xmin::text FROM chat_messages WHERE id > :before"), {"before": before}
            )
            seen.extend(writes.scalars())
        return

    def before_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "INSERT INTO CHAT_MESSAGES" in " ".join(statement.upper().split()):
            seen.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", before_execute)
    try:
        yield seen
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", before_execute)


async def test_a_batch_numbers_each_chat_gaplessly_and_refused_messages_take_no_number(
    store: Store, tenant: int
) -> None:
    a, b, closed = [await new_chat(store, tenant, name) for name in ("A", "B", "C")]
    await routing.close(store, tenant, closed, NOW)
    batch = [
        Post(a, Sender.CUSTOMER, "a1", NOW),
        Post(b, Sender.CUSTOMER, "b1", NOW),
        Post(a, Sender.AGENT, "not yours", NOW, agent_id=1),  # nobody is connected to A
        Post(closed, Sender.CUSTOMER, "late", NOW),
        Post(a, Sender.CUSTOMER, "a2", NOW),
    ]
    async with message_writes(store) as writes:
        results = await post_many(store, tenant, batch)
    assert len(writes) == 1  # the whole batch in one write
    assert [r.seq if isinstance(r, Message) else str(r) for r in results] == [
        1,
        1,
        "the chat is not connected to you",
        "the chat is closed",
        2,
    ]
    assert (await post(store, tenant, a, Sender.CUSTOMER, "a3", NOW)).seq == 3  # the refused one's number is free
    assert [(x.seq, x.body) for x in await messages_after(store, tenant, a, 0)] == [(1, "a1"), (2, "a2"), (3, "a3")]
    assert [(x.seq, x.body) for x in await messages_after(store, tenant, b, 0)] == [(1, "b1")]


async def test_one_message_at_a_time_keeps_the_same_rules(store: Store, tenant: int) -> None:
    """A batch of one (PostgreSQL: its own statement, tvoxcc.chat.posting_pg.POST_ONE) refuses and numbers as a
    batch does."""
    a, closed = [await new_chat(store, tenant, name) for name in ("A", "C")]
    await routing.close(store, tenant, closed, NOW)
    posts = [
        Post(a, Sender.CUSTOMER, "a1", NOW),
        Post(a, Sender.AGENT, "not yours", NOW, agent_id=1),  # nobody is connected to A
        Post(closed, Sender.CUSTOMER, "late", NOW),
        Post(closed + 1000, Sender.CUSTOMER, "nowhere", NOW),  # no such chat
        Post(a, Sender.CUSTOMER, "a2", NOW),
    ]
    results = [(await post_many(store, tenant, [one]))[0] for one in posts]
    assert [r.seq if isinstance(r, Message) else str(r) for r in results] == [
        1,
        "the chat is not connected to you",
        "the chat is closed",
        "the chat is closed",
        2,
    ]
    assert [(x.seq, x.body) for x in await messages_after(store, tenant, a, 0)] == [(1, "a1"), (2, "a2")]


async def test_a_resend_in_a_batch_is_stored_once_and_the_others_still_are(store: Store, tenant: int) -> None:
    chat = await new_chat(store, tenant, "A")
    first = await post(store, tenant, chat, Sender.CUSTOMER, "hello", NOW, client_id="c1")
    results = await post_many(
        store,
        tenant,
        [
            Post(chat, Sender.CUSTOMER, "hello", NOW, client_id="c1"),  # its answer was lost: sent again
            Post(chat, Sender.CUSTOMER, "next", NOW, client_id="c2"),
            Post(chat, Sender.CUSTOMER, "next", NOW, client_id="c2"),  # sent twice in the same batch
        ],
    )
    assert [r.seq for r in results if isinstance(r, Message)] == [first.seq, 2, 2]
    assert [(x.seq, x.body) for x in await messages_after(store, tenant, chat, 0)] == [(1, "hello"), (2, "next")]


async def test_posts_arriving_during_a_write_are_written_together_in_order(store: Store, tenant: int) -> None:
    chats = [await new_chat(store, tenant, name) for name in ("A", "B")]
    poster = Poster(store)
    posts = [Post(chats[n % 2], Sender.CUSTOMER, f"m{n}", NOW, client_id=f"c{n}") for n in range(30)]
    async with message_writes(store) as writes:
        sent = await asyncio.gather(*(poster.post(tenant, one) for one in posts))
    assert len(writes) < len(posts)  # grouped, not one transaction per message
    for chat in chats:
        stored = await messages_after(store, tenant, chat, 0)
        assert [x.seq for x in stored] == list(range(1, 16))
        assert [x.body for x in stored] == [one.body for one in posts if one.chat_id == chat]
    assert {(one.chat_id, m.seq) for one, m in zip(posts, sent, strict=True)} == {
        (chat, seq) for chat in chats for seq in range(1, 16)
    }
    await routing.close(store, tenant, chats[0], NOW)
    with pytest.raises(ChatError, match="closed"):
        await poster.post(tenant, Post(chats[0], Sender.CUSTOMER, "too late", NOW))
    await poster.stop()


async def test_a_resend_through_the_poster_is_answered_with_the_stored_message_and_the_poster_writes_on(
    store: Store, tenant: int
) -> None:
    """On PostgreSQL the Poster writes on a connection of its own with the statement prepared: a resend's unique
    violation there leaves it sound, the batch is written one by one and the next batches still are."""
    chat = await new_chat(store, tenant, "A")
    poster = Poster(store)
    first = await poster.post(tenant, Post(chat, Sender.CUSTOMER, "hello", NOW, client_id="c1"))
    again, other = await asyncio.gather(
        poster.post(tenant, Post(chat, Sender.CUSTOMER, "hello", NOW, client_id="c1")),  # its answer was lost
        poster.post(tenant, Post(chat, Sender.CUSTOMER, "next", NOW, client_id="c2")),
    )
    later = await poster.post(tenant, Post(chat, Sender.CUSTOMER, "later", NOW, client_id="c3"))
    await poster.stop()
    assert (first.seq, again.seq, other.seq, later.seq) == (1, 1, 2, 3)
    stored = [(x.seq, x.body) for x in await messages_after(store, tenant, chat, 0)]
    assert stored == [(1, "hello"), (2, "next"), (3, "later")]


async def test_batches_racing_a_close_keep_numbers_gapless_and_nothing_stored_after_it(
    store: Store, tenant: int
) -> None:
    a, b = await new_chat(store, tenant, "A"), await new_chat(store, tenant, "B")
    batches = [
        [Post(chat, Sender.CUSTOMER, f"{n}-{k}", NOW, client_id=f"{n}-{k}") for k, chat in enumerate((a, b, a, b))]
        for n in range(8)
    ]
    outcomes = await asyncio.gather(  # each its own connection: on PostgreSQL they run at once
        *(post_many(store, tenant, batch) for batch in batches[:4]),
        routing.close(store, tenant, b, NOW),
        *(post_many(store, tenant, batch) for batch in batches[4:]),
    )
    results = [r for batch in outcomes if isinstance(batch, list) for r in batch]
    posts = [one for batch in batches for one in batch]
    stored = {chat: await messages_after(store, tenant, chat, 0) for chat in (a, b)}
    for rows in stored.values():
        assert [x.seq for x in rows] == list(range(1, len(rows) + 1))  # gapless, the close's note included
    assert [x.sender for x in stored[b]][-1] is Sender.SYSTEM  # the close's note is the last: nothing after it
    numbers = {(chat, x.body): x.seq for chat, rows in stored.items() for x in rows}
    for one, result in zip(posts, results, strict=True):
        if isinstance(result, Message):  # answered with the number it is stored with
            assert numbers[(one.chat_id, one.body)] == result.seq
        else:  # refused: only B's after its close, and not stored
            assert (one.chat_id, str(result)) == (b, "the chat is closed")
            assert (one.chat_id, one.body) not in numbers


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_batch_notifies_the_other_web_runs_of_each_chats_new_numbers(store: Store, tenant: int) -> None:
    """The batch's one statement NOTIFYs tvoxcc_chat (tvoxcc.chat.fanout): every chat with its first and last
    new number, at most CHATS_PER_NOTIFY chats a payload (PostgreSQL refuses 8,000 bytes and more)."""
    chats = [await new_chat(store, tenant, f"V{i}") for i in range(fanout.CHATS_PER_NOTIFY + 5)]
    payloads: list[str] = []
    both = asyncio.Event()

    def heard(payload: str) -> None:
        payloads.append(payload)
        if len(payloads) == 2:
            both.set()

    wake = await Wake.open(store, "tvoxcc_test_unused", {fanout.CHANNEL: heard})
    try:
        batch = [Post(chat, Sender.CUSTOMER, "hello", NOW) for chat in chats] + [
            Post(chats[0], Sender.CUSTOMER, "again", NOW),
            Post(chats[1], Sender.AGENT, "not yours", NOW, agent_id=1),  # refused: no number, not announced
        ]
        async with message_writes(store) as writes:
            await post_many(store, tenant, batch)
        assert len(writes) == 1
        async with asyncio.timeout(30):  # a guard against hanging: the NOTIFYs come with the commit
            await both.wait()
    finally:
        await wake.close()
    news = [one for payload in payloads for one in fanout.parse(payload, "another process")]
    assert sorted((n.chat_id, n.first, n.last) for n in news if isinstance(n, fanout.Stored)) == [
        (chats[0], 1, 2),
        *((chat, 1, 1) for chat in chats[1:]),
    ]
    assert {n.tenant_id for n in news if isinstance(n, fanout.Stored)} == {tenant}
    assert len(payloads) == 2 and all(len(payload.encode()) < 8000 for payload in payloads)
    assert fanout.parse(payloads[0], fanout.origin(store)) == []  # the process that stored them skips its own


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_chat_held_up_does_not_hold_up_the_others_and_keeps_its_order(store: Store, tenant: int) -> None:
    """Batches are written side by side: while chat A's row is locked by another transaction (its batch stuck
    in the store), chat B's message is stored and answered; A's next message waits for A's batch, not beside
    it, so A's numbers follow the order posted."""
    a, b = await new_chat(store, tenant, "A"), await new_chat(store, tenant, "B")
    poster = Poster(store)
    try:
        async with store.engine.connect() as blocker:
            await blocker.execute(text("SELECT id FROM chats WHERE id = :a FOR UPDATE"), {"a": a})
            a1 = asyncio.create_task(poster.post(tenant, Post(a, Sender.CUSTOMER, "a1", NOW, client_id="a1")))
            await asyncio.sleep(0.2)  # a1's statement is waiting on the row lock
            a2 = asyncio.create_task(poster.post(tenant, Post(a, Sender.CUSTOMER, "a2", NOW, client_id="a2")))
            async with asyncio.timeout(30):  # a guard: on one writer b1 waits for a1 until the lock is let go
                b1 = await poster.post(tenant, Post(b, Sender.CUSTOMER, "b1", NOW, client_id="b1"))
            assert b1.seq == 1
            assert not a1.done() and not a2.done()
            await blocker.rollback()
        first, second = await a1, await a2
    finally:
        await poster.stop()
    assert (first.seq, second.seq) == (1, 2)
    assert [(x.seq, x.body) for x in await messages_after(store, tenant, a, 0)] == [(1, "a1"), (2, "a2")]
