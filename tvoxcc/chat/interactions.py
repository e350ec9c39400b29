"""A chat or SMS conversation as an interaction: what the customer's journey lists and Insight counts per
channel (offered, answered, abandoned, ASA, AHT), one row per conversation, kept in line with its chat.

Offered is when the conversation was queued; answered is the agent's first message (a conversation's first
response: accepting and saying nothing is not an answer); ended is the chat's close — answered, or abandoned
when no agent wrote. ``follow_interactions`` is idempotent (it reads the chats' rows): the web app runs it for
webchats and the voice service for SMS, and whoever runs after a restart catches up.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from functools import cache

from sqlalchemy import String, cast, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.chat.core import ChatStatus, Sender
from tvoxcc.interactions import Direction, Outcome
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.store import peek
from tvoxcc.store.engine import Store
from tvoxcc.voice.acd_config import QueueKey

PREFIXES = {Channel.SMS: "sms-chat-", Channel.CHAT: "web-chat-"}  # the interaction's external_id, by channel


def external_id(channel: Channel, chat_id: int) -> str:
    return f"{PREFIXES[channel]}{chat_id}"


async def _queue_ids(session: AsyncSession) -> dict[str, int]:
    """Queue rows by the router's name ("tenant/queue"), of the session's tenant or of all."""
    rows = await session.execute(select(m.Queue.id, m.Queue.name, m.Tenant.name).join(m.Tenant))
    return {QueueKey(tenant, name).router_name: qid for qid, name, tenant in rows.all()}


async def open_interaction(
    session: AsyncSession, chat: m.Chat, *, from_address: str, to_address: str, now: datetime
) -> m.Interaction:
    """The conversation's interaction, offered now in the chat's queue (the chat is flushed: it has its id)."""
    row = m.Interaction(
        queue_id=(await _queue_ids(session)).get(chat.queue),
        channel=chat.channel,
        direction=str(Direction.INBOUND),
        service_id=chat.service_id,
        contact_id=chat.contact_id,
        external_id=external_id(Channel(chat.channel), chat.id),
        from_address=from_address,
        to_address=to_address,
        offered_at=now,
    )
    session.add(row)
    return row


@cache  # one statement per set of channels, built once (tvoxcc.store.peek)
def _open_ones(channels: tuple[Channel, ...]) -> peek.Probe:
    return peek.probe(
        select(m.Interaction.id).where(
            m.Interaction.channel.in_([str(c) for c in channels]), m.Interaction.ended_at.is_(None)
        )
    )


async def follow_interactions(
    store: Store, channels: tuple[Channel, ...] = (Channel.SMS, Channel.CHAT), chats: Collection[int] | None = None
) -> int:
    """Open interactions of ``channels`` brought in line with their chats (only those of ``chats`` when given:
    the ones that moved, so a pass costs what changed, not every open conversation); how many changed."""
    if chats is not None and not chats:
        return 0
    if not await peek.exists(store, _open_ones(channels)):  # run every second or so: no session while none is open
        return 0
    replies = select(m.ChatMessage.chat_id, func.min(m.ChatMessage.at).label("at")).where(
        m.ChatMessage.sender == Sender.AGENT
    )
    these = select(m.Interaction, m.Chat)
    if chats is not None:  # by their external ids: the index finds them (the join's expression cannot)
        replies = replies.where(m.ChatMessage.chat_id.in_(chats))
        these = these.where(m.Interaction.external_id.in_([external_id(c, i) for c in channels for i in chats]))
    first_reply = replies.group_by(m.ChatMessage.chat_id).subquery()
    chat_id = cast(m.Chat.id, String)
    joins = [
        (m.Interaction.channel == channel) & (m.Interaction.external_id == literal(PREFIXES[channel]) + chat_id)
        for channel in channels
    ]
    changed = 0
    async with store.session() as session:
        queue_ids = await _queue_ids(session)
        rows = await session.execute(
            these.add_columns(first_reply.c.at)
            .join(m.Chat, or_(*joins))
            .outerjoin(first_reply, first_reply.c.chat_id == m.Chat.id)
            .where(m.Interaction.channel.in_([str(c) for c in channels]), m.Interaction.ended_at.is_(None))
        )
        for interaction, chat, replied_at in rows.all():
            before = (interaction.answered_at, interaction.ended_at, interaction.agent_id, interaction.queue_id)
            interaction.queue_id = queue_ids.get(chat.queue, interaction.queue_id)  # transferred: the last queue
            if replied_at is not None and interaction.answered_at is None:
                interaction.answered_at = replied_at
            if chat.agent_id is not None:
                interaction.agent_id = chat.agent_id
            if chat.status == ChatStatus.CLOSED:
                interaction.ended_at = chat.closed_at or chat.updated_at
                interaction.outcome = str(Outcome.ANSWERED if replied_at is not None else Outcome.ABANDONED)
            after = (interaction.answered_at, interaction.ended_at, interaction.agent_id, interaction.queue_id)
            changed += after != before
        await session.commit()
    return changed
