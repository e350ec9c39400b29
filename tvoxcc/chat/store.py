"""Chats in the store: opened by a visitor, messages numbered per chat, answered, transferred and closed by agents.

Every move (tvoxcc.chat.core.move) and the ACD request it causes commit together (``queue_inputs`` in the
same transaction): the ACD may run in another process (`voice run`, `acd run`) and reads them from
acd_inputs. What the ACD decided (an offer, an offer ended) is applied from its rows by
tvoxcc.chat.routing_store. Messages take their number from the chat row (``next_seq``, advanced by an UPDATE
that locks the row until commit, as ticket numbers are): numbers are gapless per chat and a reader asking
for those after the last it saw misses none and gets none twice.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.acd import InputKind, Request, queue_inputs
from tvoxcc.chat.core import ChatError, ChatEvent, ChatStatus, Sender, chat_item, move
from tvoxcc.chat.interactions import open_interaction
from tvoxcc.chat.posting_pg import BatchWriter, Stored, store_batch
from tvoxcc.chat.sms import NOTIFY_CHANNEL as SMS_NOTIFY
from tvoxcc.chat.sms import Delivery
from tvoxcc.journey.identify import contacts_by_email
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.notify import notify
from tvoxcc.support.dispatch_store import Names, names_of
from tvoxcc.support.opening import open_ticket
from tvoxcc.support.status import MessageKind


class ChatNotFound(ChatError):
    pass


@dataclass(frozen=True, slots=True)
class Message:
    seq: int
    sender: Sender
    body: str
    at: datetime
    agent: str | None = None  # the agent's name
    client_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "sender": str(self.sender),
            "body": self.body,
            "at": self.at.isoformat(),
            "agent": self.agent,
            "cid": self.client_id,
        }


@dataclass(frozen=True, slots=True)
class ChatInfo:
    chat_id: int
    tenant_id: int
    status: ChatStatus
    queue: str  # the router's queue name
    leg: int
    agent_id: int | None
    visitor_name: str
    visitor_email: str
    contact_id: int | None
    channel: str = "chat"  # or sms (tvoxcc.chat.sms_store)
    address: str = ""  # an SMS customer's number

    @property
    def item_id(self) -> str:
        return chat_item(self.tenant_id, self.chat_id, self.leg)

    def to_json(self, names: Names | None = None) -> dict[str, Any]:
        return {
            "chat": self.chat_id,
            "status": str(self.status),
            "queue": names.short(self.queue) if names else self.queue,
            "visitor": {"name": self.visitor_name, "email": self.visitor_email, "phone": self.address},
            "channel": self.channel,
            "contact": self.contact_id,
        }


def info(chat: m.Chat) -> ChatInfo:
    return ChatInfo(
        chat.id,
        chat.tenant_id,
        ChatStatus(chat.status),
        chat.queue,
        chat.leg,
        chat.agent_id,
        chat.visitor_name,
        chat.visitor_email,
        chat.contact_id,
        chat.channel,
        chat.address,
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _service(session: AsyncSession, name: str) -> m.Service:
    service = (await session.execute(select(m.Service).where(m.Service.name == name))).scalar_one_or_none()
    if service is None or str(Channel.CHAT) not in service.channels:
        raise ChatNotFound(f"no service {name!r} taking chats")
    return service


async def chat_queue(session: AsyncSession, service_name: str) -> tuple[m.Service, str]:
    """The service and the router queue its chats wait in (its first queue, as its tickets)."""
    service = await _service(session, service_name)
    queue = (await names_of(session)).first_queue.get(service.id)
    if queue is None:
        raise ChatNotFound(f"service {service_name!r} has no queue for its chats")
    return service, queue


def _submit(chat: m.Chat, skills: dict[str, int] | None = None) -> Request:
    """The chat's current leg as an item of its queue; ``skills``: what the item needs besides its queue's."""
    return Request(
        InputKind.SUBMIT,
        chat_item(chat.tenant_id, chat.id, chat.leg),
        payload={
            "queue": chat.queue,
            "channel": chat.channel,  # chat, or sms (tvoxcc.chat.sms_store)
            "tenant_id": chat.tenant_id,
            "ref": f"C-{chat.id}",
            "caller_id": chat.visitor_name[:64],
            **({"skills": skills} if skills else {}),
        },
    )


async def open_chat(
    store: Store, tenant_id: int, service_name: str, *, name: str, email: str, now: datetime
) -> tuple[ChatInfo, str]:
    """A new chat queued for the service (its contact found by e-mail); returns it and the visitor's secret."""
    token = secrets.token_urlsafe(24)
    async with store.tenant(tenant_id) as session:
        service, queue = await chat_queue(session, service_name)
        match = (await contacts_by_email(session, [email])).get(email) if email else None
        chat = m.Chat(
            service_id=service.id,
            queue=queue,
            channel=str(Channel.CHAT),
            status=move(ChatStatus.OPEN, ChatEvent.SUBMIT),
            visitor_name=name,
            visitor_email=email,
            contact_id=match.contact_id if match else None,
            token_hash=_digest(token),
            created_at=now,
            updated_at=now,
        )
        session.add(chat)
        await session.flush()
        await queue_inputs(session, [_submit(chat)])
        await open_interaction(session, chat, from_address=email or name, to_address=service_name, now=now)
        await session.commit()
        return info(chat), token


async def visitor_chat(store: Store, tenant_id: int, chat_id: int, token: str) -> ChatInfo:
    """The chat whose secret ``token`` is; ChatNotFound for any mismatch (the same answer for all)."""
    async with store.tenant(tenant_id) as session:
        chat = await session.get(m.Chat, chat_id)
        if chat is None or not hmac.compare_digest(chat.token_hash, _digest(token)):
            raise ChatNotFound("no such chat")
        return info(chat)


async def load_chat(session: AsyncSession, chat_id: int) -> m.Chat:
    chat = await session.get(m.Chat, chat_id, with_for_update=True)
    if chat is None:
        raise ChatNotFound(f"no chat {chat_id}")
    return chat


async def add_message(
    session: AsyncSession,
    chat_id: int,
    sender: Sender,
    body: str,
    now: datetime,
    *,
    agent_id: int | None = None,
    client_id: str | None = None,
    delivery: str | None = None,
) -> m.ChatMessage:
    """A message numbered next in the chat, in the caller's transaction (the chat row stays locked);
    ``delivery`` pending: an SMS reply the voice service sends (tvoxcc.chat.sms_store)."""
    taken = await session.execute(
        update(m.Chat)
        .where(m.Chat.id == chat_id)
        .values(next_seq=m.Chat.next_seq + 1, updated_at=now)
        .returning(m.Chat.next_seq)
        .execution_options(synchronize_session=False)
    )
    seq = int(taken.scalar_one()) - 1
    row = m.ChatMessage(
        chat_id=chat_id,
        seq=seq,
        sender=str(sender),
        body=body,
        agent_id=agent_id,
        client_id=client_id,
        at=now,
        delivery=delivery,
    )
    session.add(row)
    await session.flush()
    return row


@dataclass(frozen=True, slots=True)
class Post:
    """A message to store: ``agent_id`` the sending agent's row, ``client_id`` the sender's id for resends."""

    chat_id: int
    sender: Sender
    body: str
    now: datetime
    agent_id: int | None = None
    client_id: str | None = None


async def post(
    store: Store,
    tenant_id: int,
    chat_id: int,
    sender: Sender,
    body: str,
    now: datetime,
    *,
    agent_id: int | None = None,
    client_id: str | None = None,
) -> Message:
    """A message stored with its number (post_many of one); ChatError when it is refused."""
    (result,) = await post_many(store, tenant_id, [Post(chat_id, sender, body, now, agent_id, client_id)])
    if isinstance(result, ChatError):
        raise result
    return result


async def post_many(
    store: Store, tenant_id: int, posts: list[Post], writer: BatchWriter | None = None
) -> list[Message | ChatError]:
    """Messages stored with their numbers in one transaction (group commit: tvoxcc.chat.posting), each one's
    result in order: the message (a resend of one already stored, same ``client_id``: that one), or why it was
    refused (a closed chat; an agent who is not the one connected). On PostgreSQL one statement does it all
    (tvoxcc.chat.posting_pg: one round trip; on ``writer``'s connection when given); on SQLite
    ``_post_together``."""
    try:
        if writer is not None:
            return _outcomes(posts, await writer.write(tenant_id, posts))
        if store.engine.dialect.name == "postgresql":
            return _outcomes(posts, await store_batch(store, tenant_id, posts))
        return await _post_together(store, tenant_id, posts)
    except IntegrityError:  # a resend of a message stored already: the numbers went back with the rollback
        if len(posts) > 1:  # which one: each on its own
            return [(await post_many(store, tenant_id, [one], writer))[0] for one in posts]
        async with store.tenant(tenant_id) as session:
            (one,) = posts
            same = await _by_client_id(session, one.chat_id, one.client_id) if one.client_id else None
        if same is None:
            raise
        return [same]


def _outcomes(posts: list[Post], stored: list[Stored]) -> list[Message | ChatError]:
    return [
        Message(result.seq, one.sender, one.body, one.now, None, one.client_id)
        if result.seq is not None
        else ChatError("the chat is not connected to you" if result.open else "the chat is closed")
        for one, result in zip(posts, stored, strict=True)
    ]


async def _post_together(store: Store, tenant_id: int, posts: list[Post]) -> list[Message | ChatError]:
    """Two statements for the whole batch, whatever its size: the UPDATE that takes each chat's numbers (as
    many as it has messages here) locks the chats' rows and returns what the checks need; one INSERT of every
    row. Numbers a refused message took are given back before the commit, so they stay gapless per chat."""
    counts = Counter(one.chat_id for one in posts)
    now = max(one.now for one in posts)
    async with store.tenant(tenant_id) as session:
        taken = await session.execute(
            update(m.Chat)
            .where(m.Chat.id.in_(counts), m.Chat.status != ChatStatus.CLOSED)
            .values(next_seq=m.Chat.next_seq + case(counts, value=m.Chat.id), updated_at=now)
            .returning(m.Chat.id, m.Chat.next_seq, m.Chat.status, m.Chat.agent_id, m.Chat.channel)
            .execution_options(synchronize_session=False)
        )
        chats = {row.id: row for row in taken.all()}
        next_seq = {chat_id: int(row.next_seq) - counts[chat_id] for chat_id, row in chats.items()}
        results: list[Message | ChatError] = []
        rows: list[dict[str, Any]] = []
        for one in posts:
            chat = chats.get(one.chat_id)
            if chat is None:
                results.append(ChatError("the chat is closed"))
                continue
            if one.sender is Sender.AGENT and (chat.status != ChatStatus.CONNECTED or chat.agent_id != one.agent_id):
                results.append(ChatError("the chat is not connected to you"))
                continue
            seq = next_seq[one.chat_id]
            next_seq[one.chat_id] += 1
            outbound = one.sender is Sender.AGENT and chat.channel == Channel.SMS  # sent as an SMS (chat.sms_store)
            rows.append(
                {
                    "tenant_id": tenant_id,
                    "chat_id": one.chat_id,
                    "seq": seq,
                    "sender": str(one.sender),
                    "body": one.body,
                    "agent_id": one.agent_id,
                    "client_id": one.client_id,
                    "at": one.now,
                    "delivery": str(Delivery.PENDING) if outbound else None,
                }
            )
            results.append(Message(seq, one.sender, one.body, one.now, None, one.client_id))
        unused = {chat_id: seq for chat_id, seq in next_seq.items() if seq != chats[chat_id].next_seq}
        if unused:  # refused messages' numbers given back (the rows are still locked: nobody took one since)
            await session.execute(
                update(m.Chat)
                .where(m.Chat.id.in_(unused))
                .values(next_seq=case(unused, value=m.Chat.id))
                .execution_options(synchronize_session=False)
            )
        if rows:  # executemany of one cached statement (SQLAlchemy sends it as one multi-row INSERT)
            await session.execute(insert(m.ChatMessage), rows)
        if any(row["delivery"] for row in rows):
            await notify(session, SMS_NOTIFY)
        await session.commit()
    return results


async def _by_client_id(session: AsyncSession, chat_id: int, client_id: str) -> Message | None:
    row = (
        await session.execute(
            select(m.ChatMessage).where(m.ChatMessage.chat_id == chat_id, m.ChatMessage.client_id == client_id)
        )
    ).scalar_one_or_none()
    return None if row is None else Message(row.seq, Sender(row.sender), row.body, row.at, None, row.client_id)


async def messages_after(store: Store, tenant_id: int, chat_id: int, after: int, limit: int = 1000) -> list[Message]:
    """The chat's messages numbered above ``after``, in order (with the agents' names)."""
    async with store.tenant(tenant_id) as session:
        rows = await session.execute(
            select(m.ChatMessage, m.Agent.name)
            .outerjoin(m.Agent, m.Agent.id == m.ChatMessage.agent_id)
            .where(m.ChatMessage.chat_id == chat_id, m.ChatMessage.seq > after)
            .order_by(m.ChatMessage.seq)
            .limit(limit)
        )
        return [Message(r.seq, Sender(r.sender), r.body, r.at, name, r.client_id) for r, name in rows.all()]


async def leave_message(
    store: Store, tenant_id: int, service_name: str, *, name: str, email: str, body: str, now: datetime
) -> int:
    """No agent to chat with: the visitor's message becomes a ticket of the service; returns its number."""
    async with store.tenant(tenant_id) as session:
        service = await _service(session, service_name)
        match = (await contacts_by_email(session, [email])).get(email) if email else None
        ticket = await open_ticket(
            session,
            subject=f"Chat message from {name or email}",
            now=now,
            service_id=service.id,
            contact_id=match.contact_id if match else None,
        )
        session.add(
            m.TicketMessage(
                ticket_id=ticket.id,
                kind=MessageKind.INBOUND,
                author=email,
                subject=ticket.subject,
                body_text=body,
                created_at=now,
            )
        )
        await session.commit()
        return ticket.number
