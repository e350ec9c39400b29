"""SMS on the lab: a sipp phone texts the tenant's DID through Asterisk (SIP MESSAGE → ARI TextMessageReceived),
the text becomes an SMS chat routed by the one ACD, the agent accepts and answers it through the desktop's store
API, and the phone receives the reply as a SIP MESSAGE. A second text joins the open conversation; after it is
closed a new one starts. A reply written while the voice service is down is sent once when it is back."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.cli import Tvox
from tests.e2e.voice import SettableClock, running_voice
from tvoxcc.acd import InputKind, send_input
from tvoxcc.chat import routing_store as routing
from tvoxcc.chat.core import ChatStatus, Sender
from tvoxcc.chat.sms import Delivery
from tvoxcc.chat.store import messages_after, post
from tvoxcc.lab.sipp import Sipp, SippRun
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

pytestmark = pytest.mark.asterisk

DATA = Path(__file__).parents[1] / "data"
DID = "5556000"
CUSTOMER = "+393331234567"


class RealClock(SettableClock):
    def __call__(self) -> datetime:
        return datetime.now(UTC)


@pytest.fixture(scope="module")
def texty(lab: Any) -> Iterator[Any]:
    Tvox(lab.config_path).ok("import", str(DATA / "e2e-sms.yaml"))
    yield lab


@pytest.fixture
async def store(texty: Any) -> AsyncIterator[Store]:
    store = Store.from_url(texty.settings.database.url.get_secret_value())
    yield store
    await store.dispose()


async def ids(store: Store) -> tuple[int, int]:
    async with store.session() as session:
        tenant = (await session.execute(select(m.Tenant.id).where(m.Tenant.name == "texty"))).scalar_one()
        agent = (await session.execute(select(m.Agent.id).where(m.Agent.tenant_id == tenant))).scalar_one()
    return tenant, agent


async def sms_chats(store: Store, tenant: int) -> list[m.Chat]:
    async with store.tenant(tenant) as session:
        rows = await session.execute(select(m.Chat).where(m.Chat.channel == "sms").order_by(m.Chat.id))
        return list(rows.scalars().all())


async def until(what: str, check: Any, within: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        got = await check()
        if got:
            return got
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def offered_to(store: Store, tenant: int, agent: int) -> m.Chat | None:
    await routing.resync(store, tenant, datetime.now(UTC))  # what the desktop's hub does on the ACD's commands
    chats = await sms_chats(store, tenant)
    return next((c for c in chats if c.status == ChatStatus.OFFERED and c.agent_id == agent), None)


def received(run: SippRun, body: str) -> int:
    """How many MESSAGEs carrying ``body`` the phone received (sipp's trace logs each received request once)."""
    blocks = re.split(r"\n-{20,}[^\n]*\n", run.trace)
    return sum(1 for b in blocks if "message received" in b and "MESSAGE sip:" in b and body in b)


async def delivery(store: Store, tenant: int, chat_id: int, body: str) -> str | None:
    async with store.tenant(tenant) as session:
        row = (
            await session.execute(
                select(m.ChatMessage.delivery).where(m.ChatMessage.chat_id == chat_id, m.ChatMessage.body == body)
            )
        ).scalar_one()
        return row


async def is_sent(store: Store, tenant: int, chat_id: int, body: str) -> bool:
    """The phone may have the text before the sender recorded it sent (Asterisk answers first)."""
    return await delivery(store, tenant, chat_id, body) == Delivery.SENT


async def test_an_sms_conversation_answered_from_the_desktop(texty: Any, store: Store, sipp: Sipp) -> None:
    settings = texty.settings
    tenant, agent = await ids(store)
    now = datetime.now(UTC)
    async with running_voice(settings, RealClock(now)):
        await routing.answered(store, await send_input(store, InputKind.LOGIN, agent_id="texty-dora"))
        first = sipp.text(DID, "Hello, my order 42 is late", sender=CUSTOMER)
        chat = await until("the SMS chat offered to dora", lambda: offered_to(store, tenant, agent))
        assert chat.address == CUSTOMER and chat.channel == "sms"
        assert [x.body for x in await messages_after(store, tenant, chat.id, 0)] == ["Hello, my order 42 is late"]

        # The agent takes it on the desktop and answers: the phone gets the answer as a SIP MESSAGE.
        await routing.accept(store, tenant, chat.id, agent, datetime.now(UTC))
        await post(store, tenant, chat.id, Sender.AGENT, "We are on it, Carla", datetime.now(UTC), agent_id=agent)
        await until("the reply on the phone", lambda: asyncio.sleep(0, received(first, "We are on it, Carla")))
        await until("the reply recorded sent", lambda: is_sent(store, tenant, chat.id, "We are on it, Carla"))

        # A second text from the same number joins the open conversation.
        second = sipp.text(DID, "Thanks! Any tracking number?", sender=CUSTOMER)

        async def joined() -> bool:
            bodies = [x.body for x in await messages_after(store, tenant, chat.id, 0)]
            return "Thanks! Any tracking number?" in bodies

        await until("the second text in the same chat", joined)
        assert [c.id for c in await sms_chats(store, tenant)] == [chat.id]
        await post(store, tenant, chat.id, Sender.AGENT, "Tracking: TX-99", datetime.now(UTC), agent_id=agent)
        await until("the second reply", lambda: asyncio.sleep(0, received(second, "Tracking: TX-99")))

    # The voice service is down: a text is refused (404: the carrier keeps it), not taken and lost; the agent's
    # reply waits in the store, and goes out once when the service is back.
    (await asyncio.to_thread(sipp.text(DID, "anyone?", sender=CUSTOMER, linger_ms=0, answer=404).wait, 30)).check()
    await post(store, tenant, chat.id, Sender.AGENT, "Sent while you slept", datetime.now(UTC), agent_id=agent)
    assert await delivery(store, tenant, chat.id, "Sent while you slept") == Delivery.PENDING
    async with running_voice(settings, RealClock(now)):
        await until("the reply sent after the restart", lambda: asyncio.sleep(0, received(second, "Sent while")))
        await until("the reply recorded sent", lambda: is_sent(store, tenant, chat.id, "Sent while you slept"))
        await asyncio.sleep(1.5)  # a second sender round (poll 1 s) would have sent it again by now
    assert received(second, "Sent while you slept") == 1
    assert received(first, "We are on it, Carla") == 1

    # Closed: the next text from the number starts a new conversation, and each is an SMS interaction.
    await routing.close(store, tenant, chat.id, datetime.now(UTC), agent_id=agent)
    async with running_voice(settings, RealClock(now)):
        sipp.text(DID, "One more question", sender=CUSTOMER, linger_ms=2000)
        chats = await until("a new SMS chat", lambda: _two(store, tenant))
        assert chats[0].status == ChatStatus.CLOSED and chats[1].status != ChatStatus.CLOSED
        interactions = await until("the first conversation ended in the journey", lambda: _ended(store, tenant))
    assert [i.external_id for i in interactions] == [f"sms-chat-{c.id}" for c in chats]
    assert {i.from_address for i in interactions} == {CUSTOMER}
    assert (interactions[0].outcome, interactions[0].agent_id) == ("answered", agent)
    assert interactions[1].ended_at is None


async def _ended(store: Store, tenant: int) -> list[m.Interaction] | None:
    async with store.tenant(tenant) as session:
        query = select(m.Interaction).where(m.Interaction.channel == "sms").order_by(m.Interaction.id)
        rows = list((await session.execute(query)).scalars().all())
    return rows if len(rows) == 2 and rows[0].ended_at is not None else None


async def _two(store: Store, tenant: int) -> list[m.Chat] | None:
    chats = await sms_chats(store, tenant)
    return chats if len(chats) == 2 else None
