"""SMS conversations in the store: a customer's text joins their open chat (channel sms) or starts one, and the
agents' replies wait there (``delivery`` pending) until the voice service sends them through the trunk.

A new conversation is a chat like a webchat (tvoxcc.chat.store): queued in its service's first queue as an
ACD item of channel sms, offered, accepted and answered on the agent desktop by the same code
(tvoxcc.chat.routing_store), and it is an interaction of channel sms in the customer's journey. The number's
DID selects tenant and service, as it does for a call.

A reply is sent once: ``claim`` moves it from pending to sending in one UPDATE that only one caller can win
(two voice services never both send it), ``settle`` records what Asterisk said. A voice service that died
between the two finds its claims with ``reclaim`` at start and sends them again: the only way a customer
gets a reply twice is a crash during the ARI request itself.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.acd import queue_inputs
from tvoxcc.chat.core import ChatEvent, ChatStatus, Sender, move
from tvoxcc.chat.interactions import external_id, open_interaction
from tvoxcc.chat.interactions import follow_interactions as follow_chat_interactions
from tvoxcc.chat.sms import Delivery, ReplyRoute, Sms, SmsRefused, joins
from tvoxcc.chat.store import ChatInfo, _digest, _submit, add_message, info
from tvoxcc.journey.identify import contact_by_phone
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.store import peek
from tvoxcc.store.engine import Store
from tvoxcc.support.dispatch_store import names_of

_PENDING = peek.probe(select(m.ChatMessage.id).where(m.ChatMessage.delivery == Delivery.PENDING))  # store.peek


@dataclass(frozen=True, slots=True)
class Received:
    chat: ChatInfo
    joined: bool  # True: added to the number's open conversation; False: a new one was queued
    seq: int


@dataclass(frozen=True, slots=True)
class Reply:
    """An agent's reply to send: the chat_messages row, the chat and where the text goes."""

    message_id: int
    tenant_id: int
    chat_id: int
    body: str
    route: ReplyRoute | None


async def _route(store: Store, did: str) -> tuple[int, m.Service]:
    """The tenant and service of the DID the customer wrote to; SmsRefused when none takes SMS."""
    async with store.session() as session:
        row = (
            await session.execute(
                select(m.Did.tenant_id, m.Service)
                .join(m.Service, m.Service.id == m.Did.service_id)
                .where(m.Did.number == did)
            )
        ).one_or_none()
    if row is None:
        raise SmsRefused(f"no DID {did}")
    tenant_id, service = row
    if str(Channel.SMS) not in service.channels:
        raise SmsRefused(f"service {service.name!r} of DID {did} does not take SMS")
    return int(tenant_id), service


async def _latest(session: AsyncSession, service_id: int, number: str) -> m.Chat | None:
    query = (
        select(m.Chat)
        .where(m.Chat.channel == Channel.SMS, m.Chat.address == number, m.Chat.service_id == service_id)
        .order_by(m.Chat.id.desc())
        .limit(1)
        .with_for_update()
    )
    chat: m.Chat | None = (await session.execute(query)).scalar_one_or_none()
    return chat


async def receive(store: Store, sms: Sms, now: datetime) -> Received:
    """Store the customer's text in their open SMS conversation with the service, or open and queue one.

    Callers serialise the messages of one number (the voice service handles them in one lane per number), so
    two texts sent together do not open two conversations."""
    tenant_id, service = await _route(store, sms.did)
    async with store.tenant(tenant_id) as session:
        chat = await _latest(session, service.id, sms.number)
        joined = chat is not None and joins(ChatStatus(chat.status))
        if chat is None or not joined:
            chat = await _open(session, service, sms, now)
        chat.reply_to = sms.reply.encode()  # the phone may write from elsewhere now: answer where it is
        row = await add_message(session, chat.id, Sender.CUSTOMER, sms.body, now)
        await session.commit()
        return Received(info(chat), joined, row.seq)


async def _open(session: AsyncSession, service: m.Service, sms: Sms, now: datetime) -> m.Chat:
    queue = (await names_of(session)).first_queue.get(service.id)
    if queue is None:
        raise SmsRefused(f"service {service.name!r} has no queue for its SMS")
    match = await contact_by_phone(session, sms.number)
    chat = m.Chat(
        service_id=service.id,
        queue=queue,
        channel=str(Channel.SMS),
        address=sms.number,
        status=move(ChatStatus.OPEN, ChatEvent.SUBMIT),
        visitor_name=(match.display_name if match else "") or sms.number,
        visitor_email="",
        contact_id=match.contact_id if match else None,
        token_hash=_digest(secrets.token_urlsafe(24)),  # nobody opens an SMS chat from a browser
        created_at=now,
        updated_at=now,
    )
    session.add(chat)
    await session.flush()
    await queue_inputs(session, [_submit(chat)])
    await open_interaction(session, chat, from_address=sms.number, to_address=sms.did, now=now)
    return chat


def sms_external_id(chat_id: int) -> str:
    """The journey interaction of an SMS conversation (its chat)."""
    return external_id(Channel.SMS, chat_id)


async def follow_interactions(store: Store) -> int:
    """The SMS conversations' interactions brought in line with their chats (tvoxcc.chat.interactions)."""
    return await follow_chat_interactions(store, (Channel.SMS,))


async def pending(store: Store, limit: int = 100) -> list[Reply]:
    """Agents' replies not sent yet, oldest first, across tenants (the voice service owns every trunk)."""
    if not await peek.exists(store, _PENDING):
        return []
    async with store.session() as session:
        rows = await session.execute(
            select(
                m.ChatMessage.id, m.ChatMessage.tenant_id, m.ChatMessage.chat_id, m.ChatMessage.body, m.Chat.reply_to
            )
            .join(m.Chat, m.Chat.id == m.ChatMessage.chat_id)
            .where(m.ChatMessage.delivery == Delivery.PENDING)
            .order_by(m.ChatMessage.id)
            .limit(limit)
        )
        return [Reply(i, t, c, body, ReplyRoute.decode(to)) for i, t, c, body, to in rows.all()]


async def claim(store: Store, message_id: int) -> bool:
    """Take the reply for sending; False when another sender took it first (or it is not pending)."""
    async with store.session() as session:
        result = await session.execute(
            update(m.ChatMessage)
            .where(m.ChatMessage.id == message_id, m.ChatMessage.delivery == Delivery.PENDING)
            .values(delivery=str(Delivery.SENDING))
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        return bool(getattr(result, "rowcount", 0) == 1)


async def settle(store: Store, reply: Reply, now: datetime, *, error: str | None = None) -> None:
    """Record the reply sent, or failed with ``error`` (a system line in the chat tells the agent)."""
    async with store.tenant(reply.tenant_id) as session:
        await session.execute(
            update(m.ChatMessage)
            .where(m.ChatMessage.id == reply.message_id)
            .values(delivery=str(Delivery.FAILED if error else Delivery.SENT))
            .execution_options(synchronize_session=False)
        )
        if error:
            await add_message(session, reply.chat_id, Sender.SYSTEM, f"the SMS could not be sent: {error}", now)
        await session.commit()


async def unclaim(store: Store, message_id: int) -> None:
    """Give a claimed reply back (Asterisk could not be reached): the next round sends it."""
    async with store.session() as session:
        await session.execute(
            update(m.ChatMessage)
            .where(m.ChatMessage.id == message_id, m.ChatMessage.delivery == Delivery.SENDING)
            .values(delivery=str(Delivery.PENDING))
            .execution_options(synchronize_session=False)
        )
        await session.commit()


async def reclaim(store: Store) -> int:
    """At a voice service's start: replies a dead one had claimed but not settled go back to pending."""
    async with store.session() as session:
        result = await session.execute(
            update(m.ChatMessage)
            .where(m.ChatMessage.delivery == Delivery.SENDING)
            .values(delivery=str(Delivery.PENDING))
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)
