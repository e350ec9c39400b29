"""A person's chats still going on when their data is to be erased: named in a refusal, or ended first.

An open chat (queued, ringing an agent, connected) is a live ACD item and, when connected, a conversation on an
agent's desktop: deleting its rows under them would leave the ACD routing an item of nobody (and writing the
customer's name or number back into ``acd_items`` from its memory after the erase scrubbed it). So an erase
refuses while one is open; asked to (``--close-open``), it first ends each as an agent's close does
(``chat.routing_store.close_by_center``: the connected item completes, a waiting one is abandoned) and waits
until the ACD has taken those requests, so the item is gone before its chat is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.chat import routing_store
from tvoxcc.chat.core import ChatStatus, chat_item
from tvoxcc.journey.contacts import JourneyError
from tvoxcc.journey.privacy import Identity
from tvoxcc.journey.privacy_store import chats_of
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

ERASE_NOTE = "closed by the contact center: the customer's data is erased"
ACD_WAIT_S = 15.0


class OpenChats(JourneyError):
    """An erase refused: the person has a chat going on (one line naming each)."""


@dataclass(frozen=True, slots=True)
class Ongoing:
    """A chat of the person that is open, or closed with its end not yet taken by the ACD."""

    chat_id: int
    channel: str
    status: ChatStatus
    agent: str | None  # the agent it rings or is connected to
    items: tuple[str, ...]  # its ACD items (one per leg)

    def __str__(self) -> str:
        with_agent = f" with agent {self.agent}" if self.agent else ""
        return f"{self.channel} {self.chat_id} ({self.status}{with_agent})"


def _items(chat: m.Chat) -> tuple[str, ...]:
    return tuple(chat_item(chat.tenant_id, chat.id, leg) for leg in range(chat.leg + 1))


async def ongoing(session: AsyncSession, who: Identity) -> list[Ongoing]:
    """The person's chats that are not closed, or whose end the ACD has not taken yet, by id."""
    chats = (await session.execute(select(m.Chat, m.Agent.name).outerjoin(m.Agent, m.Agent.id == m.Chat.agent_id)
                                   .where(chats_of(who)).order_by(m.Chat.id))).all()  # fmt: skip
    found = []
    for chat, agent in chats:
        items = _items(chat)
        untaken = exists().where(and_(m.AcdInput.item_id.in_(items), m.AcdInput.taken_at.is_(None)))
        if chat.status != ChatStatus.CLOSED or await session.scalar(select(untaken)):
            status = ChatStatus(chat.status)
            found.append(Ongoing(chat.id, chat.channel, status, agent if status in _WITH_AGENT else None, items))
    return found


_WITH_AGENT = (ChatStatus.OFFERED, ChatStatus.CONNECTED)


def refusal(chats: Sequence[Ongoing]) -> OpenChats:
    named = ", ".join(map(str, chats))
    return OpenChats(
        f"{named} still open: nothing erased; end {'them' if len(chats) > 1 else 'it'} first, or erase with "
        "--close-open (closes each as an agent would, then erases)"
    )


async def end_ongoing(
    store: Store, tenant_id: int, chats: Sequence[Ongoing], now: datetime, *, wait_s: float = ACD_WAIT_S
) -> None:
    """Close each chat as the center, then wait until the ACD took every request about their items;
    OpenChats when it did not within ``wait_s`` (no ACD running): the chats stay closed, nothing is erased."""
    for chat in chats:
        await routing_store.close_by_center(store, tenant_id, chat.chat_id, now, ERASE_NOTE)
    items = [item for chat in chats for item in chat.items]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        async with store.session() as session:
            waiting = await session.scalar(
                select(exists().where(and_(m.AcdInput.item_id.in_(items), m.AcdInput.taken_at.is_(None))))
            )
        if not waiting:
            return
        if loop.time() > deadline:
            raise OpenChats(
                f"{', '.join(map(str, chats))} closed, but the ACD did not end "
                f"{'their items' if len(chats) > 1 else 'its item'} within {wait_s:g} s (is `voice run` or "
                "`acd run` running?): nothing erased; erase again once it runs"
            )
        await asyncio.sleep(0.05)
