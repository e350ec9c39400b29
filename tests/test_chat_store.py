"""Webchats against the store and the one ACD (running in a task, as `acd run` would), on SQLite and PostgreSQL.

A chat is a chat item of its service's queue: offered within the agents' chat capacity (an agent at
capacity gets no chat), accepted or declined (ring-no-answer), transferred to another queue (a new leg
item), closed. Messages are numbered per chat: replay after a number gives exactly what came after it,
and a resend with the same client id is stored once.
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
from tvoxcc.chat.core import ChatError, ChatStatus, Sender
from tvoxcc.chat.store import ChatNotFound, leave_message, messages_after, open_chat, post, visitor_chat
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DOC = {
    "tenant": {"name": "acme"},
    "services": [
        {"name": "web", "channels": ["chat", "mail"]},
        {"name": "billing", "channels": ["chat"]},
        {"name": "phone", "channels": ["voice"]},
    ],
    "queues": [{"name": "chat", "service": "web"}, {"name": "billing", "service": "billing"}],
    "agents": [
        {"name": "ann", "extension": "201", "queues": ["chat"], "capacity": {"chat": 1}},
        {"name": "bob", "extension": "202", "queues": ["chat", "billing"], "capacity": {"chat": 2}},
        {"name": "cid", "extension": "203", "queues": ["billing"], "capacity": {"chat": 1}},
    ],
}


@pytest.fixture
async def tenant(store: Store) -> int:
    return await imported_tenant(store, DOC)


@pytest.fixture
async def acd(store: Store, tenant: int) -> AsyncIterator[AcdService]:
    async with routing_acd(store) as service:
        yield service


async def settled(store: Store, acd: AcdService, tenant: int) -> None:
    await chat_world.settled(store, acd, tenant, NOW)


async def agent_row(store: Store, tenant: int, name: str) -> int:
    async with store.tenant(tenant) as session:
        return (await session.execute(select(m.Agent.id).where(m.Agent.name == name))).scalar_one()


async def status(store: Store, tenant: int, chat_id: int) -> tuple[ChatStatus, int | None]:
    async with store.tenant(tenant) as session:
        chat = await session.get(m.Chat, chat_id)
        assert chat is not None
        return ChatStatus(chat.status), chat.agent_id


async def test_messages_replay_after_a_number_and_a_resend_is_stored_once(store: Store, tenant: int) -> None:
    chat, token = await open_chat(store, tenant, "web", name="Carla", email="carla@example.com", now=NOW)
    assert (await visitor_chat(store, tenant, chat.chat_id, token)).status is ChatStatus.QUEUED
    with pytest.raises(ChatNotFound):
        await visitor_chat(store, tenant, chat.chat_id, token + "x")
    sent = [await post(store, tenant, chat.chat_id, Sender.CUSTOMER, f"m{n}", NOW, client_id=f"c{n}") for n in range(5)]
    assert [s.seq for s in sent] == [1, 2, 3, 4, 5]
    again = await post(store, tenant, chat.chat_id, Sender.CUSTOMER, "m2", NOW, client_id="c2")  # a resend
    assert again.seq == 3
    assert [x.body for x in await messages_after(store, tenant, chat.chat_id, 2)] == ["m2", "m3", "m4"]
    assert await messages_after(store, tenant, chat.chat_id, 5) == []
    # An agent not connected to the chat cannot write in it.
    with pytest.raises(ChatError, match="not connected to you"):
        await post(store, tenant, chat.chat_id, Sender.AGENT, "hi", NOW, agent_id=await agent_row(store, tenant, "ann"))


async def test_concurrent_posts_get_gapless_numbers(store: Store, tenant: int) -> None:
    chat, _ = await open_chat(store, tenant, "web", name="Dan", email="", now=NOW)
    await asyncio.gather(*(post(store, tenant, chat.chat_id, Sender.CUSTOMER, f"m{n}", NOW) for n in range(20)))
    seqs = [x.seq for x in await messages_after(store, tenant, chat.chat_id, 0)]
    assert seqs == list(range(1, 21))


async def test_an_agent_at_chat_capacity_gets_no_chat(store: Store, tenant: int, acd: AcdService) -> None:
    ann = await agent_row(store, tenant, "ann")
    await send_input(store, InputKind.LOGIN, agent_id="acme-ann")
    first, _ = await open_chat(store, tenant, "web", name="A", email="a@example.com", now=NOW)
    second, _ = await open_chat(store, tenant, "web", name="B", email="b@example.com", now=NOW)
    await settled(store, acd, tenant)
    assert await status(store, tenant, first.chat_id) == (ChatStatus.OFFERED, ann)
    assert await status(store, tenant, second.chat_id) == (ChatStatus.QUEUED, None)  # ann has chat capacity 1
    await routing.accept(store, tenant, first.chat_id, ann, NOW)
    await settled(store, acd, tenant)
    assert await status(store, tenant, second.chat_id) == (ChatStatus.QUEUED, None)  # still at capacity
    assert (await routing.place(store, (await routing.agent_chats(store, tenant, ann))[0])).position == 0
    waiting = await visitor_chat(store, tenant, second.chat_id, _)
    assert (await routing.place(store, waiting)).position == 1
    # bob logs in: the waiting chat is his.
    bob = await agent_row(store, tenant, "bob")
    await send_input(store, InputKind.LOGIN, agent_id="acme-bob")
    await settled(store, acd, tenant)
    assert await status(store, tenant, second.chat_id) == (ChatStatus.OFFERED, bob)


async def test_decline_transfer_and_close_go_through_the_acd(store: Store, tenant: int, acd: AcdService) -> None:
    ann, bob, cid = [await agent_row(store, tenant, n) for n in ("ann", "bob", "cid")]
    for name in ("ann", "cid"):
        await send_input(store, InputKind.LOGIN, agent_id=f"acme-{name}")
    chat, token = await open_chat(store, tenant, "web", name="Carla", email="carla@example.com", now=NOW)
    await settled(store, acd, tenant)
    assert await status(store, tenant, chat.chat_id) == (ChatStatus.OFFERED, ann)
    with pytest.raises(ChatError, match="not offered to you"):
        await routing.accept(store, tenant, chat.chat_id, bob, NOW)
    await routing.decline(store, tenant, chat.chat_id, ann, NOW)  # ring-no-answer: ann is not offered it again
    await send_input(store, InputKind.LOGIN, agent_id="acme-bob")
    await settled(store, acd, tenant)
    assert await status(store, tenant, chat.chat_id) == (ChatStatus.OFFERED, bob)
    await routing.accept(store, tenant, chat.chat_id, bob, NOW)
    await post(store, tenant, chat.chat_id, Sender.AGENT, "Hello Carla", NOW, agent_id=bob)
    await routing.transfer(store, tenant, chat.chat_id, bob, "billing", NOW)
    await settled(store, acd, tenant)
    # The first leg's item is done (bob in wrap-up after it): billing's other member, cid, is offered the next.
    assert await status(store, tenant, chat.chat_id) == (ChatStatus.OFFERED, cid)
    async with store.session() as session:
        legs = dict((await session.execute(select(m.AcdItem.item_id, m.AcdItem.status))).all())
    assert legs.get(f"chat-{tenant}-{chat.chat_id}-0", "done") == "done"
    assert legs[f"chat-{tenant}-{chat.chat_id}-1"] == "offered"
    await routing.accept(store, tenant, chat.chat_id, cid, NOW)
    await routing.close(store, tenant, chat.chat_id, NOW, agent_id=cid)
    await settled(store, acd, tenant)
    assert (await visitor_chat(store, tenant, chat.chat_id, token)).status is ChatStatus.CLOSED
    log = [(x.sender, x.body) for x in await messages_after(store, tenant, chat.chat_id, 0)]
    assert log == [
        (Sender.SYSTEM, "bob joined"),
        (Sender.AGENT, "Hello Carla"),
        (Sender.SYSTEM, "transferred to billing"),
        (Sender.SYSTEM, "cid joined"),
        (Sender.SYSTEM, "closed by cid"),
    ]
    async with store.session() as session:
        loads: dict[str, dict[str, int]] = dict(
            (await session.execute(select(m.AcdAgent.agent_id, m.AcdAgent.load))).all()
        )
    assert all(not load.get("chat") for load in loads.values())  # every chat slot is free again


async def test_a_message_left_with_no_agent_becomes_a_ticket(store: Store, tenant: int) -> None:
    assert not await routing.staffed(store, tenant, "web")
    number = await leave_message(store, tenant, "web", name="Eve", email="eve@example.com", body="Call me", now=NOW)
    async with store.tenant(tenant) as session:
        ticket = (await session.execute(select(m.Ticket).where(m.Ticket.number == number))).scalar_one()
        body = await session.scalar(select(m.TicketMessage.body_text).where(m.TicketMessage.ticket_id == ticket.id))
    assert ticket.subject == "Chat message from Eve" and body == "Call me"
    with pytest.raises(ChatNotFound):
        await open_chat(store, tenant, "phone", name="x", email="", now=NOW)  # a service without chat
