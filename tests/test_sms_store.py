"""SMS conversations in the store with the one ACD (in a task, as `voice run` embeds it), on SQLite and PostgreSQL.

A text opens an SMS chat of its DID's service (queued as an ACD item of channel sms, an sms interaction in the
journey) or joins the number's open one; after close a new one starts. Agents' replies wait as pending and are
claimed by one sender only; a claim left by a dead sender goes back to pending; a refusal is told in the chat.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests import chat_world
from tests.chat_world import imported_tenant, routing_acd
from tvoxcc.acd import AcdService, InputKind, send_input
from tvoxcc.chat import routing_store as routing
from tvoxcc.chat import sms_store
from tvoxcc.chat.core import ChatStatus, Sender
from tvoxcc.chat.sms import NOTIFY_CHANNEL as SMS_NOTIFY
from tvoxcc.chat.sms import Delivery, Sms, SmsRefused, read_message
from tvoxcc.chat.store import messages_after, post
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.notify import Wake

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DOC = {
    "tenant": {"name": "texty", "country": "IT"},
    "services": [
        {"name": "care", "channels": ["sms"], "dids": ["5553000"]},
        {"name": "phone", "channels": ["voice"], "dids": ["5554000"]},
    ],
    "queues": [{"name": "care-sms", "service": "care", "ring_timeout_seconds": 60}],
    "agents": [{"name": "dora", "extension": "301", "queues": ["care-sms"], "capacity": {"sms": 1}}],
}
VARS = {"PJSIP_RECVADDR": "127.0.0.1:5062"}


def text(body: str, number: str = "+393331234567", did: str = "5553000") -> Sms:
    return read_message("carrier", f"<sip:{number}@127.0.0.1>", f"pjsip:{did}@127.0.0.1", body, VARS)


@pytest.fixture
async def tenant(store: Store) -> int:
    return await imported_tenant(store, DOC)


@pytest.fixture
async def acd(store: Store, tenant: int) -> AsyncIterator[AcdService]:
    async with routing_acd(store) as service:
        yield service


async def settled(store: Store, acd: AcdService, tenant: int) -> None:
    await chat_world.settled(store, acd, tenant, NOW)


async def test_texts_of_a_number_thread_into_one_open_conversation(store: Store, tenant: int) -> None:
    first = await sms_store.receive(store, text("my order is late"), NOW)
    again = await sms_store.receive(store, text("order 42"), NOW)
    other = await sms_store.receive(store, text("hello", number="+3902555"), NOW)
    assert (first.joined, again.joined, other.joined) == (False, True, False)
    assert again.chat.chat_id == first.chat.chat_id != other.chat.chat_id
    assert first.chat.status is ChatStatus.QUEUED
    assert [x.body for x in await messages_after(store, tenant, first.chat.chat_id, 0)] == [
        "my order is late",
        "order 42",
    ]
    async with store.tenant(tenant) as session:
        submits = (await session.execute(select(m.AcdInput).where(m.AcdInput.kind == InputKind.SUBMIT))).scalars()
        assert sorted(i.payload["channel"] for i in submits) == ["sms", "sms"]
        journey = (await session.execute(select(m.Interaction).order_by(m.Interaction.id))).scalars().all()
        assert [(i.channel, i.from_address, i.to_address) for i in journey] == [
            ("sms", "+393331234567", "5553000"),
            ("sms", "+3902555", "5553000"),
        ]


async def test_a_did_without_sms_or_unknown_is_refused(store: Store, tenant: int) -> None:
    with pytest.raises(SmsRefused, match="does not take SMS"):
        await sms_store.receive(store, text("x", did="5554000"), NOW)
    with pytest.raises(SmsRefused, match="no DID 5559999"):
        await sms_store.receive(store, text("x", did="5559999"), NOW)


async def test_replies_are_claimed_once_and_a_closed_conversation_is_not_joined(
    store: Store, tenant: int, acd: AcdService
) -> None:
    async with store.tenant(tenant) as session:
        dora = (await session.execute(select(m.Agent.id))).scalar_one()
    await send_input(store, InputKind.LOGIN, agent_id="texty-dora")
    got = await sms_store.receive(store, text("help"), NOW)
    await settled(store, acd, tenant)
    await routing.accept(store, tenant, got.chat.chat_id, dora, NOW)
    wake = await Wake.open(store, SMS_NOTIFY)  # what the voice service's sender waits on
    try:
        await post(store, tenant, got.chat.chat_id, Sender.AGENT, "on it", NOW, agent_id=dora)
        await post(store, tenant, got.chat.chat_id, Sender.AGENT, "still on it", NOW, agent_id=dora)
        assert wake.listening is (store.engine.dialect.name == "postgresql")
        if wake.listening:  # PostgreSQL: a stored reply wakes the sender (SQLite's sender polls)
            await asyncio.wait_for(wake.event.wait(), 30)
    finally:
        await wake.close()
    replies = await sms_store.pending(store)
    assert [r.body for r in replies] == ["on it", "still on it"]
    assert replies[0].route is not None and replies[0].route.to == "pjsip:carrier/sip:+393331234567@127.0.0.1:5062"
    # Two senders race for the first: one wins.
    assert sorted(await asyncio.gather(*(sms_store.claim(store, replies[0].message_id) for _ in range(2)))) == [
        False,
        True,
    ]
    await sms_store.settle(store, replies[0], NOW)
    # The second is claimed, then its sender dies: a new run gives it back and sends it; Asterisk refuses it.
    assert await sms_store.claim(store, replies[1].message_id)
    assert await sms_store.pending(store) == []
    assert await sms_store.reclaim(store) == 1
    assert [r.message_id for r in await sms_store.pending(store)] == [replies[1].message_id]
    assert await sms_store.claim(store, replies[1].message_id)
    await sms_store.settle(store, replies[1], NOW, error="404 endpoint not found")
    async with store.tenant(tenant) as session:
        states = (
            await session.execute(select(m.ChatMessage.delivery).where(m.ChatMessage.sender == Sender.AGENT))
        ).scalars()
        assert sorted(str(s) for s in states) == [Delivery.FAILED, Delivery.SENT]
    bodies = [x.body for x in await messages_after(store, tenant, got.chat.chat_id, 0)]
    assert bodies[-1] == "the SMS could not be sent: 404 endpoint not found"
    # Closed: the next text starts a new conversation; the journey has it answered at the first reply.
    assert await sms_store.follow_interactions(store) == 1  # dora took it
    closed_at = NOW.replace(minute=7)
    await routing.close(store, tenant, got.chat.chat_id, closed_at, agent_id=dora)
    assert await sms_store.follow_interactions(store) == 1
    assert await sms_store.follow_interactions(store) == 0
    async with store.tenant(tenant) as session:
        row = (await session.execute(select(m.Interaction))).scalar_one()
        assert (row.agent_id, row.answered_at, row.ended_at, row.outcome) == (dora, NOW, closed_at, "answered")
        queue = await session.get(m.Queue, row.queue_id)
        assert queue is not None and row.channel == "sms"  # in its queue: Insight counts it (by queue and channel)
    after = await sms_store.receive(store, text("one more"), NOW)
    assert not after.joined and after.chat.chat_id != got.chat.chat_id
