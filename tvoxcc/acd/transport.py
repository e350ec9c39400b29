"""The seam between the ACD and its adapters (like httpx's transports): in process, or through the store.

A transport gets each batch of commands twice: ``stage`` inside the transaction that writes the decisions'
rows (the store transport adds its acd_commands rows there, and on PostgreSQL a NOTIFY, delivered at commit),
and ``release`` once that transaction is committed (the in-process transport hands them to its subscribers
only then: an adapter never acts on a decision a crash could undo). An ACD may use both: ``voice run``
embeds it in process while the support service reads the store.

Adapters in other processes read commands with ``CommandReader`` (by sequence; PostgreSQL: LISTEN wakes it,
SQLite: polled) and write requests with ``send_input`` (tvoxcc.acd.inputs).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Protocol

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.acd.commands import Command
from tvoxcc.acd.kinds import CommandKind
from tvoxcc.acd.lease import core
from tvoxcc.acd.rows import command_row
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.models.acd import NOTIFY_CHANNEL
from tvoxcc.store.notify import Wake


class Transport(Protocol):
    async def stage(self, session: AsyncSession, commands: Sequence[Command]) -> None: ...

    async def release(self, commands: Sequence[Command]) -> None: ...


Subscriber = Callable[[Command], None]


class InProcess:
    """Commands to callbacks in this process, after their rows are committed; ``channels`` filters items'."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[Subscriber, frozenset[Channel] | None]] = []
        self.released = 0

    def subscribe(self, callback: Subscriber, channels: Sequence[Channel] | None = None) -> None:
        """``callback`` gets every command (``channels``: only item commands of those channels, and agent ones)."""
        self._subscribers.append((callback, None if channels is None else frozenset(channels)))

    async def stage(self, session: AsyncSession, commands: Sequence[Command]) -> None:
        return None

    async def release(self, commands: Sequence[Command]) -> None:
        for command in commands:
            self.released += 1
            for callback, channels in self._subscribers:
                if channels is None or command.channel is None or command.channel in channels:
                    callback(command)


class Queue(InProcess):
    """In process, as an asyncio queue an adapter awaits (``get``), for adapters that run a loop of their own."""

    def __init__(self) -> None:
        super().__init__()
        self.commands: asyncio.Queue[Command] = asyncio.Queue()
        self.subscribe(self.commands.put_nowait)

    async def get(self) -> Command:
        return await self.commands.get()


class InStore:
    """Commands as acd_commands rows, written in the decisions' transaction; PostgreSQL listeners are NOTIFYed.
    ``channels``: only item commands of those channels (and agent ones): ``voice run`` carries out its calls'
    commands in process and writes rows only for the other channels' adapters."""

    def __init__(self, channels: Sequence[Channel] | None = None) -> None:
        self.channels = None if channels is None else frozenset(channels)

    def kept(self, commands: Sequence[Command]) -> list[Command]:
        """The commands this transport writes as rows (``channels``' items and every agent command)."""
        if self.channels is None:
            return list(commands)
        return [c for c in commands if c.channel is None or c.channel in self.channels]

    async def stage(self, session: AsyncSession, commands: Sequence[Command]) -> None:
        commands = self.kept(commands)
        if not commands:
            return
        await session.execute(insert(core(m.AcdCommand)), [command_row(c) for c in commands])
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("SELECT pg_notify(:channel, 'commands')"), {"channel": NOTIFY_CHANNEL})

    async def release(self, commands: Sequence[Command]) -> None:
        return None  # committed rows are the release


def _command(row: m.AcdCommand) -> Command:
    return Command(
        CommandKind(row.kind),
        row.item_id,
        row.agent_id,
        row.queue,
        None if row.channel is None else Channel(row.channel),
        row.tenant_id,
        row.ref,
        dict(row.payload),
        row.seq,
    )


class CommandReader:
    """An adapter's reading of acd_commands, from ``after`` (a sequence number; default: from now on)."""

    def __init__(
        self, store: Store, *, channels: Sequence[Channel] | None = None, after: int | None = None, poll_s: float = 0.2
    ) -> None:
        self.store = store
        self.channels = None if channels is None else [str(ch) for ch in channels]
        self.after = after
        self.poll_s = poll_s

    async def read(self, limit: int = 500) -> list[Command]:
        """The commands after the last one read (none waiting: an empty list)."""
        async with self.store.session() as session:
            if self.after is None:
                self.after = int(await session.scalar(select(func.coalesce(func.max(m.AcdCommand.seq), 0))) or 0)
                return []
            query = select(m.AcdCommand).where(m.AcdCommand.seq > self.after).order_by(m.AcdCommand.seq).limit(limit)
            if self.channels is not None:
                query = query.where(m.AcdCommand.channel.in_(self.channels) | m.AcdCommand.channel.is_(None))
            rows = (await session.execute(query)).scalars().all()
        if rows:
            self.after = rows[-1].seq
        return [_command(row) for row in rows]

    async def follow(self) -> AsyncGenerator[Command, None]:
        """Every new command, for ever: read, and when none waits sleep ``poll_s`` (or until a NOTIFY)."""
        wake = await Wake.open(self.store, NOTIFY_CHANNEL)
        try:
            while True:
                commands = await self.read()
                for command in commands:
                    yield command
                if not commands:
                    await wake.wait(self.poll_s)
        finally:
            await wake.close()


__all__ = ["CommandReader", "InProcess", "InStore", "Queue", "Transport"]
