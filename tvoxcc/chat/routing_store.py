"""Chats and the ACD: agents' moves on a chat with the request each makes, the ACD's offers applied from its rows.

An offer is applied from the chat item's acd_items row, never from the command alone: the command only says
which chat to look at (``apply_commands``), so applying is idempotent, and a web app that was down while
the ACD offered catches up with ``resync``. Accept and decline are the agent's answer to that offer (decline
is ring-no-answer for the router); transfer completes this leg's item and queues the next leg's item in the
target queue; close completes (connected) or abandons (waiting) the item. Each commits with its request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.acd import Command, CommandKind, InputKind, Request, queue_inputs
from tvoxcc.chat.core import ACTIVE, ChatError, ChatEvent, ChatStatus, Sender, chat_item, chat_of_item, move
from tvoxcc.chat.store import ChatInfo, _submit, add_message, info, load_chat
from tvoxcc.queues.ewt import expected_wait
from tvoxcc.queues.model import Channel, ItemStatus
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.support.dispatch_store import names_of
from tvoxcc.support.hours import business_hours
from tvoxcc.voice.acd_config import personal_skill

HANDLE_GUESS_S = 180.0  # a chat's handle time for the visitor's estimate, until Insight gives one per queue


@dataclass(frozen=True, slots=True)
class Place:
    position: int  # 1: next; 0: not waiting
    wait_s: float | None  # None: nobody serves the queue now


async def _acd_row(session: AsyncSession, item_id: str) -> m.AcdItem | None:
    return await session.get(m.AcdItem, item_id)


async def _agent_display(session: AsyncSession, agent_id: int) -> str:
    agent = await session.get(m.Agent, agent_id)
    if agent is None:
        return "an agent"
    return agent.display_name or agent.name


async def accept(store: Store, tenant_id: int, chat_id: int, agent_id: int, now: datetime) -> ChatInfo:
    async with store.tenant(tenant_id) as session:
        chat = await load_chat(session, chat_id)
        if chat.agent_id != agent_id or chat.status != ChatStatus.OFFERED:
            raise ChatError("the chat is not offered to you")
        chat.status = move(ChatStatus(chat.status), ChatEvent.ACCEPT)
        rid = (await names_of(session)).agents[agent_id]
        await queue_inputs(session, [Request(InputKind.ACCEPT, chat_item(tenant_id, chat_id, chat.leg), rid)])
        await add_message(session, chat_id, Sender.SYSTEM, f"{await _agent_display(session, agent_id)} joined", now)
        await session.commit()
        return info(chat)


async def decline(store: Store, tenant_id: int, chat_id: int, agent_id: int, now: datetime) -> ChatInfo:
    """The agent does not take the offered chat: ring-no-answer for the router, the chat waits again."""
    async with store.tenant(tenant_id) as session:
        chat = await load_chat(session, chat_id)
        if chat.agent_id != agent_id or chat.status != ChatStatus.OFFERED:
            raise ChatError("the chat is not offered to you")
        chat.status, chat.agent_id, chat.updated_at = move(ChatStatus(chat.status), ChatEvent.CANCEL), None, now
        rid = (await names_of(session)).agents[agent_id]
        await queue_inputs(session, [Request(InputKind.DECLINE, chat_item(tenant_id, chat_id, chat.leg), rid)])
        await session.commit()
        return info(chat)


async def transfer(store: Store, tenant_id: int, chat_id: int, agent_id: int, queue: str, now: datetime) -> ChatInfo:
    """The connected agent hands the chat to ``queue`` (its name in the tenant): this leg ends, the next waits."""
    async with store.tenant(tenant_id) as session:
        names = await names_of(session)
        target = next((r for r in names.queues.values() if names.short(r) == queue), None)
        if target is None:
            raise ChatError(f"no queue {queue!r}")
        chat = await _connected(session, chat_id, agent_id)
        await _hand_on(session, chat, target, None, f"transferred to {queue}", now)
        return info(chat)


async def transfer_to_agent(
    store: Store, tenant_id: int, chat_id: int, agent_id: int, to_agent: str, now: datetime
) -> ChatInfo:
    """The connected agent hands the chat to the agent named ``to_agent``: the next leg waits in one of their
    queues (the chat's own when they serve it) needing their personal skill, so the ACD offers it to them alone
    (tvoxcc.voice.acd_config.personal_skill) when they have room — or to anyone once the queue relaxes skills."""
    async with store.tenant(tenant_id) as session:
        names = await names_of(session)
        target = await session.scalar(select(m.Agent).where(m.Agent.name == to_agent))
        if target is None:
            raise ChatError(f"no agent {to_agent!r}")
        chat = await _connected(session, chat_id, agent_id)
        if target.id == agent_id:
            raise ChatError("the chat is yours already")
        if int(names.capacity[target.id].get(chat.channel, 0)) <= 0:
            raise ChatError(f"{to_agent} takes no {chat.channel}")
        queue_ids = await session.execute(select(m.QueueMember.queue_id).where(m.QueueMember.agent_id == target.id))
        theirs = sorted(names.queues[qid] for qid in queue_ids.scalars())
        if not theirs:
            raise ChatError(f"{to_agent} serves no queue")
        queue = chat.queue if chat.queue in theirs else theirs[0]
        skill = {personal_skill(to_agent): 1}
        await _hand_on(session, chat, queue, skill, f"transferred to {await _agent_display(session, target.id)}", now)
        return info(chat)


async def _connected(session: AsyncSession, chat_id: int, agent_id: int) -> m.Chat:
    chat = await load_chat(session, chat_id)
    if chat.agent_id != agent_id or chat.status != ChatStatus.CONNECTED:
        raise ChatError("the chat is not connected to you")
    return chat


async def _hand_on(
    session: AsyncSession, chat: m.Chat, queue: str, skills: dict[str, int] | None, note: str, now: datetime
) -> None:
    """This leg's item completes and the next leg's waits in ``queue``; committed with the chat's system line."""
    chat.status = move(ChatStatus(chat.status), ChatEvent.TRANSFER)
    done = Request(InputKind.COMPLETE, chat_item(chat.tenant_id, chat.id, chat.leg))
    chat.leg, chat.queue, chat.agent_id, chat.updated_at = chat.leg + 1, queue, None, now
    await queue_inputs(session, [done, _submit(chat, skills)])
    await add_message(session, chat.id, Sender.SYSTEM, note, now)
    await session.commit()


async def close(store: Store, tenant_id: int, chat_id: int, now: datetime, *, agent_id: int | None = None) -> ChatInfo:
    """The visitor (``agent_id`` None) or the connected agent ends the chat; closing a closed chat is a no-op."""
    async with store.tenant(tenant_id) as session:
        chat = await load_chat(session, chat_id)
        status = ChatStatus(chat.status)
        if status is ChatStatus.CLOSED:
            return info(chat)
        if agent_id is not None and (chat.agent_id != agent_id or status is not ChatStatus.CONNECTED):
            raise ChatError("the chat is not connected to you")
        who = "the visitor" if agent_id is None else await _agent_display(session, agent_id)
        await _end(session, chat, now, f"closed by {who}", by_caller=agent_id is None)
        await session.commit()
        return info(chat)


async def close_by_center(store: Store, tenant_id: int, chat_id: int, now: datetime, note: str) -> ChatInfo:
    """The center ends the chat whatever its state (before its customer's data is erased), as the agent's close
    ends it: a connected item completes, a waiting or ringing one is abandoned; ``note`` is the system message.
    Closing a closed chat is a no-op."""
    async with store.tenant(tenant_id) as session:
        chat = await load_chat(session, chat_id)
        if ChatStatus(chat.status) is not ChatStatus.CLOSED:
            await _end(session, chat, now, note, by_caller=False)
            await session.commit()
        return info(chat)


async def _end(session: AsyncSession, chat: m.Chat, now: datetime, note: str, *, by_caller: bool) -> None:
    """The chat closed, with the request that ends its item and the system message saying why."""
    status = ChatStatus(chat.status)
    kind = InputKind.COMPLETE if status is ChatStatus.CONNECTED else InputKind.ABANDON
    payload = {"by_caller": True} if by_caller else {}
    await queue_inputs(session, [Request(kind, chat_item(chat.tenant_id, chat.id, chat.leg), payload=payload)])
    chat.status, chat.closed_at = move(status, ChatEvent.CLOSE), now
    await add_message(session, chat.id, Sender.SYSTEM, note, now)


async def apply_commands(store: Store, commands: Iterable[Command], now: datetime) -> list[ChatInfo]:
    """The chats the ACD's commands are about, brought in line with their items' rows; those that changed."""
    chats: dict[int, set[int]] = {}
    for command in commands:
        parsed = chat_of_item(command.item_id or "") if command.channel in (Channel.CHAT, Channel.SMS, None) else None
        if parsed is not None and command.kind is not CommandKind.START_WRAPUP:
            chats.setdefault(parsed[0], set()).add(parsed[1])
    changed: list[ChatInfo] = []
    for tenant_id, ids in chats.items():
        changed += await resync(store, tenant_id, now, ids)
    return changed


async def resync(store: Store, tenant_id: int, now: datetime, only: Iterable[int] | None = None) -> list[ChatInfo]:
    """Waiting chats (queued, offered) of the tenant made to match their items' rows; those that changed."""
    changed = []
    async with store.tenant(tenant_id) as session:
        names = await names_of(session)
        query = select(m.Chat).where(m.Chat.status.in_([ChatStatus.QUEUED, ChatStatus.OFFERED]))
        if only is not None:
            query = query.where(m.Chat.id.in_(list(only)))
        for chat in (await session.execute(query.with_for_update())).scalars().all():
            row = await _acd_row(session, chat_item(tenant_id, chat.id, chat.leg))
            before = (chat.status, chat.agent_id, chat.queue)
            if row is None:
                continue  # not taken by the ACD yet (or no ACD routing): it waits
            chat.queue = row.queue  # an overflow may have moved it
            if row.status == ItemStatus.OFFERED and row.offered_to:
                chat.status = str(ChatStatus.OFFERED)
                chat.agent_id = names.agent_row(str(row.offered_to[0]))
            elif row.status == ItemStatus.WAITING:
                chat.status, chat.agent_id = str(ChatStatus.QUEUED), None
            elif row.status == ItemStatus.DONE:
                chat.status, chat.closed_at = str(ChatStatus.CLOSED), now  # left the queue (max wait, no agents)
                await add_message(session, chat.id, Sender.SYSTEM, "no agent could take the chat", now)
            if (chat.status, chat.agent_id, chat.queue) != before:
                chat.updated_at = now
                changed.append(info(chat))
        await session.commit()
    return changed


async def queue_places(store: Store, queue: str) -> tuple[dict[str, int], int]:
    """Every waiting item of ``queue`` by its place (1: next), and the chat slots serving it now: one read for
    all the visitors waiting there (the web app caches it a moment, tvoxcc.web.chat_hub)."""
    async with store.session() as session:
        rows = await session.execute(
            select(m.AcdItem.item_id, m.AcdItem.priority, m.AcdItem.arrived_at, m.AcdItem.seq).where(
                m.AcdItem.queue == queue, m.AcdItem.status == ItemStatus.WAITING
            )
        )
        ordered = sorted(rows.all(), key=lambda r: (-r.priority, r.arrived_at, r.seq))
        servers = await _servers(session, queue)
    return {row.item_id: n for n, row in enumerate(ordered, 1)}, servers


def place_of(chat: ChatInfo, places: dict[str, int], servers: int) -> Place:
    """Where the chat waits (position 0: it does not wait; not taken by the ACD yet: behind every item)."""
    if chat.status is not ChatStatus.QUEUED:
        return Place(0, None)
    position = places.get(chat.item_id, len(places) + 1)
    return Place(position, expected_wait(position, HANDLE_GUESS_S, servers))


async def place(store: Store, chat: ChatInfo) -> Place:
    places, servers = await queue_places(store, chat.queue)
    return place_of(chat, places, servers)


async def _servers(session: AsyncSession, queue: str) -> int:
    """Chat slots of the queue's logged-in members (paused or busy included: they come back)."""
    rows = await session.execute(select(m.AcdAgent.capacity, m.AcdAgent.members).where(m.AcdAgent.logged_in))
    return sum(
        int(capacity.get(Channel.CHAT, 0))
        for capacity, members in rows.all()
        if any(member.get("queue") == queue for member in members)
    )


async def staffed(store: Store, tenant_id: int, service_name: str) -> bool:
    """Whether an agent with chat capacity is logged in to the service's chat queue now."""
    from tvoxcc.chat.store import chat_queue

    async with store.tenant(tenant_id) as session:
        _, queue = await chat_queue(session, service_name)
        return await _servers(session, queue) > 0


async def in_hours(store: Store, tenant_id: int, service_name: str, now: datetime) -> bool:
    """Whether the service is within its business hours now (tvoxcc.support.hours; none set: always)."""
    async with store.tenant(tenant_id) as session:
        row = (
            await session.execute(
                select(m.Service.business_hours, m.Service.holidays, m.Tenant.timezone)
                .join(m.Tenant, m.Tenant.id == m.Service.tenant_id)
                .where(m.Service.name == service_name)
            )
        ).first()
    if row is None:
        return True  # no such service: opening the chat says so
    hours = business_hours(row[0], [date.fromisoformat(d) for d in row[1] or ()], row[2] or "UTC")
    return hours is None or hours.is_open(now)


async def agent_chats(store: Store, tenant_id: int, agent_id: int) -> list[ChatInfo]:
    """The chats offered to or connected with the agent."""
    async with store.tenant(tenant_id) as session:
        rows = await session.execute(
            select(m.Chat).where(m.Chat.agent_id == agent_id, m.Chat.status.in_(list(ACTIVE))).order_by(m.Chat.id)
        )
        return [info(chat) for chat in rows.scalars().all()]


async def chats_now(store: Store, chat_ids: Iterable[int]) -> list[ChatInfo]:
    """The chats as stored now, of any tenant (a web app catching up with moves it may have missed)."""
    async with store.session() as session:
        rows = await session.execute(select(m.Chat).where(m.Chat.id.in_(list(chat_ids))).order_by(m.Chat.id))
        return [info(chat) for chat in rows.scalars().all()]


async def answered(store: Store, seq: int, timeout_s: float = 15.0, poll_s: float = 0.05) -> None:
    """Wait until the ACD took request ``seq`` (an agent's login, pause…); ChatError with its refusal, or when
    no ACD took it in time."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        async with store.session() as session:
            row = await session.get(m.AcdInput, seq)
        if row is not None and row.taken_at is not None:
            if row.error:
                raise ChatError(f"the ACD refused: {row.error}")
            return
        if asyncio.get_running_loop().time() > deadline:
            raise ChatError(f"the ACD did not answer within {timeout_s:g} s: is `acd run` or `voice run` running?")
        await asyncio.sleep(poll_s)
