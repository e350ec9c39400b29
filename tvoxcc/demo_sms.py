"""`tvoxcc demo`'s SMS step: a customer's phone (sipp) texts the service's number through the lab Asterisk, the
text becomes an SMS chat the ACD offers to mario, he accepts and answers it (the desktop's store calls), and the
phone receives the reply as a SIP MESSAGE; a second text joins the same conversation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import select

from tvoxcc.chat import routing_store as routing
from tvoxcc.chat.core import ChatStatus, Sender
from tvoxcc.chat.store import messages_after, post
from tvoxcc.lab.sipp import Sipp
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

CUSTOMER = "+393471112233"
REPLY = "Hello! Order 1234 left our warehouse today."


async def _until(what: str, check: Callable[[], Awaitable[object]], within: float = 30.0) -> object:
    deadline = time.monotonic() + within
    while not (got := await check()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"demo: {what} did not happen within {within:.0f} s")
        await asyncio.sleep(0.2)
    return got


async def sms_answered(store: Store, sipp: Sipp, did: str, agent: str, say: Callable[[str], None]) -> None:
    async with store.session() as session:
        tenant, agent_id = (
            await session.execute(select(m.Agent.tenant_id, m.Agent.id).where(m.Agent.name == agent))
        ).one()
    async with store.tenant(tenant) as session:  # a known customer: the text is matched to them by number
        contact = m.Contact(tenant_id=tenant, display_name="Luca Neri")
        contact.phones.append(m.ContactPhone(tenant_id=tenant, number=CUSTOMER))
        session.add(contact)
        await session.commit()
    say(f"demo: Luca Neri texts {did} from {CUSTOMER} (SIP MESSAGE through the trunk, to the ARI app)")
    phone = sipp.text(did, "Hi, has my order 1234 shipped?", sender=CUSTOMER)

    async def offered() -> m.Chat | None:
        await routing.resync(store, tenant, datetime.now(UTC))  # what the desktop's hub does on the ACD's offer
        async with store.tenant(tenant) as session:
            query = select(m.Chat).where(
                m.Chat.channel == "sms", m.Chat.status == ChatStatus.OFFERED, m.Chat.agent_id == agent_id
            )
            chat: m.Chat | None = (await session.execute(query)).scalars().first()
            return chat

    chat = await _until(f"the SMS chat offered to {agent}", offered)
    assert isinstance(chat, m.Chat)
    await routing.accept(store, tenant, chat.id, agent_id, datetime.now(UTC))
    await post(store, tenant, chat.id, Sender.AGENT, REPLY, datetime.now(UTC), agent_id=agent_id)
    say(
        f"demo: SMS chat {chat.id} with {chat.visitor_name} (channel sms) offered to {agent} on the desktop;"
        " accepted and answered"
    )

    async def delivered() -> bool:
        return REPLY in phone.trace

    await _until("the reply on the customer's phone", delivered)
    say(f"demo: the customer's phone received the reply as a SIP MESSAGE: {REPLY!r}")
    sipp.text(did, "Great, thanks!", sender=CUSTOMER, linger_ms=1000)

    async def joined() -> list[str] | None:
        bodies = [x.body for x in await messages_after(store, tenant, chat.id, 0)]
        return bodies if "Great, thanks!" in bodies else None

    bodies = await _until("the second text in the same chat", joined)
    say(f"demo: a second text from {CUSTOMER} joined the same conversation: {bodies}")
    await routing.close(store, tenant, chat.id, datetime.now(UTC), agent_id=agent_id)
