"""The web app's side of chats: who listens to which chat and which agent, and the ACD's chat offers followed.

Each open websocket (a visitor's widget, an agent's desktop) is a ``Listener`` with its own queue of events;
the hub fans a chat's new message or state out to the chat's listeners, and "look again" to an agent's
desktops when the ACD's commands concern that agent (an offer, an offer ended, wrap-up, a pause). The ACD
runs in another process (`voice run`, `acd run`): its commands are read from acd_commands
(tvoxcc.acd.CommandReader) and the chats brought in line with their items' rows (tvoxcc.chat.routing_store).
Messages the sockets post go through ``posts`` (tvoxcc.chat.posting: group commit).

Several `web run`s share chats on PostgreSQL (tvoxcc.chat.fanout): the statement storing a batch NOTIFYs the
chats' new numbers, and a move or typing hint made here is NOTIFYed by ``shared``; each hub LISTENs on the
connection that wakes its command reader and pushes its listeners the messages (read from the store, so a
socket's numbering replays what it missed and drops what it had) and events another process announced;
when that connection was lost and made again (NOTIFYs missed), ``reconnected`` has every socket here catch up
from the store. The ACD's commands need none: every hub reads them all. On SQLite (one machine, one
`web run`) nothing is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tvoxcc.acd import Command, CommandKind, CommandReader
from tvoxcc.chat import fanout
from tvoxcc.chat import routing_store as routing
from tvoxcc.chat.core import ChatStatus, RateLimit, Sender
from tvoxcc.chat.interactions import follow_interactions
from tvoxcc.chat.posting import Poster
from tvoxcc.chat.store import ChatInfo, messages_after
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.models.acd import NOTIFY_CHANNEL
from tvoxcc.store.notify import Wake, notify
from tvoxcc.voice.acd_config import agent_id as router_agent_id

log = logging.getLogger(__name__)

Event = dict[str, Any]
PLACE_TTL_S = 1.0  # a queue's places are read at most this often for all its waiting visitors
INTERACTIONS_EVERY_S = 1.0
MAX_BACKLOG = 1000  # events a slow socket may owe before it is dropped (it reconnects and replays by number)


class Listener:
    """One socket's events. ``seen``: by chat, the last message number it sent (tvoxcc.web.sockets sends each
    number once, in order, replaying from the store what it did not get pushed). ``overflowed``: it fell too
    far behind and must reconnect (it replays what it missed)."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.seen: dict[int, int] = {}
        self.overflowed = False

    def put(self, event: Event) -> None:
        if self.events.qsize() >= MAX_BACKLOG:
            self.overflowed = True
            return
        self.events.put_nowait(event)


@dataclass(frozen=True)
class VisitorLimits:
    """Per visitor: chats opened (or messages left) per address, messages per chat (tvoxcc.web.chat)."""

    opens: RateLimit
    messages: RateLimit

    @classmethod
    def per_minute(cls, opens: int, messages: int) -> VisitorLimits:
        return cls(RateLimit(opens / 60, max(3.0, opens / 4)), RateLimit(messages / 60, max(5.0, messages / 4)))


class ChatHub:
    def __init__(
        self, store: Store, clock: Callable[[], datetime], poll_s: float = 0.2, limits: VisitorLimits | None = None
    ) -> None:
        self.limits = limits or VisitorLimits.per_minute(20, 60)
        self.store = store
        self.posts = Poster(store)  # the sockets' messages, written a batch at a time
        self.clock = clock
        self.poll_s = poll_s
        self._chats: dict[int, set[Listener]] = {}
        self._agents: dict[int, set[Listener]] = {}
        self._agent_rows: dict[str, int] = {}  # router agent id -> agents.id
        self._task: asyncio.Task[None] | None = None
        self._interactions: asyncio.Task[None] | None = None
        # The webchats whose interaction may have changed (a move, an agent's message; a customer's changes
        # nothing); None: every open one (the first pass, which catches up with what happened while down).
        self._moved: set[int] | None = None
        self._places: dict[str, tuple[float, dict[str, int], int]] = {}  # queue -> (read at, places, servers)
        self._origin = fanout.origin(store)
        self._shares = store.engine.dialect.name == "postgresql"  # SQLite: one `web run`, nothing to tell
        self._pending: set[asyncio.Task[None]] = set()  # NOTIFYs being sent, messages being read for a NOTIFY

    # -- listeners --------------------------------------------------------------------------------------

    def listen_chat(self, chat_id: int, listener: Listener) -> None:
        self._chats.setdefault(chat_id, set()).add(listener)

    def listen_agent(self, agent_row: int, listener: Listener) -> None:
        self._agents.setdefault(agent_row, set()).add(listener)

    def forget(self, listener: Listener) -> None:
        for table in (self._chats, self._agents):
            for key in [k for k, listeners in table.items() if listener in listeners]:
                table[key].discard(listener)
                if not table[key]:
                    del table[key]

    def desktops_open(self) -> bool:
        return bool(self._agents)

    def to_chat(self, chat_id: int, event: Event) -> None:
        kind = event.get("type")
        if self._moved is not None and (kind == "state" or (kind == "msg" and event.get("sender") != Sender.CUSTOMER)):
            self._moved.add(chat_id)
        for listener in list(self._chats.get(chat_id, ())):
            listener.put(event)

    def to_agent(self, agent_row: int, event: Event) -> None:
        for listener in list(self._agents.get(agent_row, ())):
            listener.put(event)

    def chat_changed(self, chat: ChatInfo, *, shared: bool = True) -> None:
        """Tell the chat's sockets its new state (and to replay the messages the move added: joined, closed…),
        and the agent it is offered to or connected with to look again; ``shared``: the other `web run`s too
        (a move made here; not one of the ACD's commands, which every hub reads)."""
        event = {"type": "state", "chat": chat.chat_id, "status": str(chat.status)}
        self._changed(chat.chat_id, chat.agent_id, event)
        if shared:
            self._tell_others(chat.chat_id, chat.agent_id, event)

    def shared(self, chat_id: int, event: Event) -> None:
        """An event (a typing hint) for the chat's sockets here and in the other `web run`s."""
        self.to_chat(chat_id, event)
        self._tell_others(chat_id, None, event)

    def _changed(self, chat_id: int, agent_row: int | None, event: Event) -> None:
        self.to_chat(chat_id, event)
        self.to_chat(chat_id, {"type": "sync", "chat": chat_id})
        if agent_row is not None:
            self.to_agent(agent_row, {"type": "refresh"})

    # -- the other `web run`s (tvoxcc.chat.fanout) ------------------------------------------------------

    def _tell_others(self, chat_id: int, agent_row: int | None, event: Event) -> None:
        if self._shares:
            self._spawn(self._notify(fanout.event_payload(self._origin, chat_id, agent_row, event)))

    async def _notify(self, payload: str) -> None:
        async with self.store.session() as session:
            await notify(session, fanout.CHANNEL, payload)
            await session.commit()

    def _spawn(self, step: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(step)
        self._pending.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:  # a socket replays by number what was missed
            exc = task.exception()
            log.warning("sharing a chat with the other web runs failed: %s: %s", type(exc).__name__, exc)

    def notified(self, payload: str) -> None:
        """A NOTIFY from another `web run`: its news pushed to the listeners here."""
        for news in fanout.parse(payload, self._origin):
            if isinstance(news, fanout.Stored):
                if news.chat_id in self._chats:  # else nobody here to read them for
                    self._spawn(self._push_stored(news))
            elif news.event.get("type") == "state":  # its agent's desktop may be here without the chat's sockets
                self._changed(news.chat_id, news.agent_row, news.event)
            else:
                self.to_chat(news.chat_id, news.event)

    def reconnected(self) -> None:
        """The listening connection was lost and made again: what the other `web run`s NOTIFYed meanwhile is
        gone, so every chat's sockets here replay by number the messages they missed and every desktop looks
        again; then each chat's state as stored is told as a move's would be (a widget shows no status from
        its messages: a close made elsewhere meanwhile would leave it open)."""
        for chat_id in list(self._chats):
            self.to_chat(chat_id, {"type": "sync", "chat": chat_id})
        for agent_row in list(self._agents):
            self.to_agent(agent_row, {"type": "refresh"})
        if self._chats:
            self._spawn(self._states_now(list(self._chats)))

    async def _states_now(self, chat_ids: list[int]) -> None:
        for chat in await routing.chats_now(self.store, chat_ids):
            self._changed(chat.chat_id, None, {"type": "state", "chat": chat.chat_id, "status": str(chat.status)})

    async def _push_stored(self, news: fanout.Stored) -> None:
        after, count = news.first - 1, news.last - news.first + 1
        for message in await messages_after(self.store, news.tenant_id, news.chat_id, after, limit=count):
            self.to_chat(news.chat_id, {"type": "msg", "chat": news.chat_id, **message.to_json()})

    async def place(self, chat: ChatInfo) -> routing.Place:
        """The chat's place in its queue, from one read of the queue shared by its visitors for PLACE_TTL_S."""
        if chat.status is not ChatStatus.QUEUED:
            return routing.Place(0, None)
        loop = asyncio.get_running_loop()
        cached = self._places.get(chat.queue)
        if cached is None or loop.time() - cached[0] > PLACE_TTL_S:
            places, servers = await routing.queue_places(self.store, chat.queue)
            cached = self._places[chat.queue] = (loop.time(), places, servers)
        return routing.place_of(chat, cached[1], cached[2])

    # -- the ACD's commands -------------------------------------------------------------------------------

    async def start(self) -> None:
        reader = CommandReader(self.store, channels=[Channel.CHAT, Channel.SMS], poll_s=self.poll_s)
        await reader.read()  # from now on; what was decided before is taken from the rows:
        for tenant_id in await self._tenants():
            await routing.resync(self.store, tenant_id, self.clock())
        self._task = asyncio.create_task(self._follow(reader))
        self._interactions = asyncio.create_task(self._follow_interactions())

    async def stop(self) -> None:
        for task in (self._task, self._interactions, *self._pending):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.posts.stop()

    async def _tenants(self) -> list[int]:
        async with self.store.session() as session:
            return list((await session.execute(select(m.Tenant.id))).scalars())

    async def _follow(self, reader: CommandReader) -> None:
        while True:
            try:
                async for command in _batches(reader, self.notified, self.reconnected):
                    await self.apply(command)
            except Exception as exc:  # the store may be briefly unreachable: keep following
                log.warning("following the ACD's chat commands failed: %s: %s", type(exc).__name__, exc)
                await asyncio.sleep(1.0)

    async def _follow_interactions(self) -> None:
        """The webchats' interactions (journey, Insight) kept in line with their chats, once a second at most
        and only those of the chats that moved (the voice service does the same for SMS)."""
        while True:
            await asyncio.sleep(INTERACTIONS_EVERY_S)
            moved, self._moved = self._moved, set()
            try:
                await follow_interactions(self.store, (Channel.CHAT,), moved)
            except Exception as exc:  # the store may be briefly unreachable: the next pass tries again
                self._moved = None if moved is None else moved | self._moved
                log.warning("following the chats' interactions failed: %s: %s", type(exc).__name__, exc)

    async def apply(self, commands: list[Command]) -> None:
        for chat in await routing.apply_commands(self.store, commands, self.clock()):
            self.chat_changed(chat, shared=False)
        for command in commands:  # the agent a command names looks again (an offer withdrawn, wrap-up, pause)
            if command.agent_id and command.kind is not CommandKind.OFFER:
                row = await self.agent_row(command.agent_id)
                if row is not None:
                    self.to_agent(row, {"type": "refresh"})

    async def agent_row(self, rid: str) -> int | None:
        """The agents row of router agent ``rid`` (None: no such agent)."""
        if rid not in self._agent_rows:
            async with self.store.session() as session:
                rows = await session.execute(select(m.Agent.id, m.Agent.name, m.Tenant.name).join(m.Tenant))
                self._agent_rows = {router_agent_id(tenant, name): aid for aid, name, tenant in rows.all()}
        return self._agent_rows.get(rid)


async def _batches(
    reader: CommandReader, notified: Callable[[str], None], reconnected: Callable[[], None]
) -> AsyncGenerator[list[Command], None]:
    """The reader's commands a batch at a time (a NOTIFY or the poll wakes it); the other `web run`s' chat news
    to ``notified``, on the same listening connection, and ``reconnected`` once it is made again after a loss."""
    wake = await Wake.open(reader.store, NOTIFY_CHANNEL, {fanout.CHANNEL: notified}, reconnected)
    try:
        while True:
            commands = await reader.read()
            if commands:
                yield commands
            else:
                await wake.wait(reader.poll_s)
    finally:
        await wake.close()
