"""The ACD adapter's state and plumbing: what every part of it shares (tvoxcc.voice.acd is the whole).

One ``AcdBase`` holds the router, the calls waiting and ringing, the holding bridges, and runs router calls:
``_apply`` makes the call (no await: router calls never interleave), copies it to the wallboard, queues its
events to the recorder and hands each command to its item's lane. The parts built on it, one file each:
callbacks (tvoxcc.voice.acd_callbacks), agent phones and feature codes (tvoxcc.voice.acd_agents), the call
flow (tvoxcc.voice.acd).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tvoxcc.agi.routes.agent import AgentRefused
from tvoxcc.ari import AriClient, AriError, NotFound
from tvoxcc.queues import model as q
from tvoxcc.queues.router import Router
from tvoxcc.voice.acd_config import AcdDirectory, QueueKey
from tvoxcc.voice.call import CallSession, send_to_fallback
from tvoxcc.voice.callbacks import CallbackBook, CallbackJob, OutboundRoute
from tvoxcc.voice.directory import Directory
from tvoxcc.voice.lanes import Lanes
from tvoxcc.voice.presence import EndpointSubscriber
from tvoxcc.voice.queue_log_file import QueueLogFile

log = logging.getLogger(__name__)

AGENT_LEG = "tvoxcc-agent"
CALLBACK_LEG = "tvoxcc-callback"
CALLBACK_NOTICE = "sound:thank-you-for-calling"  # said before hanging up a caller whose queue turned into a callback


@dataclass
class Leg:
    channel_id: str
    item_id: str
    agent_id: str
    answered: bool = False


@dataclass
class Waiting:
    call: CallSession
    queue: QueueKey
    holding_id: str  # the holding bridge it waits in (kept across an overflow to another queue)
    bridge_id: str | None = None  # the mixing bridge once connected
    next_announce: float = 0.0  # when to tell the caller their position and wait again
    announcing: str | None = None  # the announcement playing (one at a time), stopped before the call is bridged
    connecting: bool = False  # an agent answered: no more announcements
    language: str = ""  # announcements' language: the one the IVR chose, else the caller's
    legs: dict[str, Leg] = field(default_factory=dict)  # agent id -> ringing or answered leg


class AcdBase(ABC):
    """State shared by the ACD's parts, and running router calls."""

    def __init__(
        self,
        ari: AriClient,
        acd: AcdDirectory,
        clock: Callable[[], datetime],
        *,
        queue_log: Path | None = None,
        rng: random.Random | None = None,
        tick_seconds: float = 0.5,
        callback_attempts: int = 3,
        callback_retry_s: float = 300.0,
        callback_poll_s: float = 2.0,
        config_poll_s: float = 5.0,
        lanes: Lanes | None = None,
    ) -> None:
        self.ari = ari
        self.acd = acd
        self.clock = clock
        self.router = Router(
            rng or random.Random(), callback_retry_s=callback_retry_s, callback_attempts=callback_attempts
        )
        self.directory = Directory(acd.store, acd.recorder)
        self.book = CallbackBook(acd.store, acd.recorder)
        self.callbacks: dict[str, CallbackJob] = {}  # router item id -> the callback it is
        self.dialing: dict[str, str] = {}  # customer channel id -> callback item id
        self.outbound: dict[str, OutboundRoute] = {}  # tenant -> how it dials out
        self.callback_poll_s = callback_poll_s
        self.config_poll_s = config_poll_s
        self.on_config: Callable[[], Awaitable[None]] | None = None  # after a configuration change was taken
        self._tasks: set[asyncio.Task[Any]] = set()
        self.queue_log = QueueLogFile(queue_log) if queue_log is not None else None
        self.tick_seconds = tick_seconds
        self.holding: dict[str, str] = {}  # queue key -> holding bridge id
        self.items: dict[str, Waiting] = {}  # item id (= caller channel id) -> call
        self.legs: dict[str, Leg] = {}  # agent leg channel id -> leg
        self._ticker: asyncio.Task[None] | None = None
        # Each call's work (its commands, its agent legs' events) runs in order in the call's lane; calls
        # run side by side. Router calls themselves never await, so they need no lock.
        self._own_lanes = lanes is None
        self.lanes = lanes or Lanes()
        self._holding_made: dict[str, asyncio.Future[str]] = {}  # queue -> its holding bridge being created
        self.pause_codes: dict[str, dict[str, str]] = {}  # tenant -> dialled code -> activity name
        self.endpoint_states: dict[str, str] = {}  # agent phone -> last reported state
        self.presence = EndpointSubscriber(ari)  # follows agent phones, in checked chunks
        self.on_change: Callable[[q.Outputs], None] | None = None  # the wallboard's copy (tvoxcc.voice.live)

    def _now(self) -> float:
        return self.clock().timestamp()

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` after the current router call (it may call the router: the lock is not reentrant)."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _apply(self, step: Callable[[float], q.Outputs], *, strict: bool = False) -> q.Outputs | None:
        """Run one router call and hand what it produced to the lanes; None when the router refused it.

        Nothing here waits: the router call, the wallboard's copy and the events (queued to the recorder)
        happen at once, so router calls never interleave; each command runs later in its item's lane, in
        order with everything else of that call. ``strict``: a refusal raises AgentRefused (an agent's own
        request, answered with a prompt).
        """
        try:
            outputs = step(self._now())
        except q.RouterError as exc:
            if strict:
                raise AgentRefused(str(exc)) from exc
            log.info("ACD: %s", exc)
            return None
        if self.on_change is not None:
            self.on_change(outputs)
        if self.queue_log is not None and outputs.queue_log:
            self.queue_log.append(outputs.queue_log)
        # A callback's attempt opens its own interaction first: the router's events about it go there.
        placing = {c.item_id for c in outputs.commands if isinstance(c, q.PlaceCallback)}
        self._record([event for event in outputs.events if event.item_id not in placing])
        for command in outputs.commands:
            item_id = getattr(command, "item_id", None)
            if isinstance(command, q.PlaceCallback):
                events = [event for event in outputs.events if event.item_id == command.item_id]
                self.lanes.submit(command.item_id, self._place_callback(command, events))
            elif isinstance(item_id, str):
                self.lanes.submit(item_id, self._carry_out(command))
            else:
                await self._carry_out(command)  # agent-only commands: no network I/O
        for event in outputs.events:
            if event.kind is q.EventKind.RING_NO_ANSWER and event.item_id and event.agent_id:
                # the router's ring timer fired: stop that agent's phone ringing
                self.lanes.submit(event.item_id, self._drop_leg(event.item_id, event.agent_id))
        return outputs

    async def _carry_out(self, command: q.Command) -> None:
        try:
            await self._execute(command)
        except NotFound:
            log.info("ACD: %s on a gone channel", type(command).__name__)
        except AriError as exc:
            log.warning("ACD: %s failed: %s", type(command).__name__, exc)

    def _record(self, events: list[q.Event]) -> None:
        for event in events:
            waiting = self.items.get(event.item_id or "")
            job = self.callbacks.get(event.item_id or "")
            interaction = waiting.call.interaction if waiting else job.interaction() if job else None
            self.acd.store_event(event, interaction, self.clock())

    def playback_finished(self, playback_id: str) -> None:
        """A playback ended: when it was a caller's announcement, the next one is due ``every`` s from now."""
        waiting = self.items.get(playback_id.rpartition(":")[0])
        if waiting is not None and waiting.announcing == playback_id:
            waiting.announcing = None
            every = self.acd.announce_every.get(waiting.queue.router_name, 0)
            waiting.next_announce = self._now() + every if every else float("inf")

    def lane_of(self, channel_id: str, args: tuple[str, ...] = ()) -> str:
        """The lane of the call a channel belongs to: an agent leg's or a callback's is its item's."""
        if len(args) > 1 and args[0] in (AGENT_LEG, CALLBACK_LEG):
            return args[1]
        leg = self.legs.get(channel_id)
        if leg is not None:
            return leg.item_id
        return self.dialing.get(channel_id, channel_id)

    async def _hold(self, key: QueueKey, channel_id: str) -> str:
        """Put a channel in the queue's holding bridge; returns the bridge id.

        Asterisk answers 404 to addChannel for a bridge it does not have (it restarted since we made it; a gone
        channel is a 400 or 422): then a new bridge, and one more try.
        """
        bridge_id = await self._holding(key)
        try:
            await self.ari.bridges.add_channel(bridge_id, channel_id)
        except NotFound:
            log.warning("ACD: holding bridge %s of %s is gone: making a new one", bridge_id, key.router_name)
            if self.holding.get(key.router_name) == bridge_id:
                del self.holding[key.router_name]
            bridge_id = await self._holding(key)
            await self.ari.bridges.add_channel(bridge_id, channel_id)
        return bridge_id

    async def _holding(self, key: QueueKey) -> str:
        """The queue's holding bridge; callers entering at once share the one being created."""
        name = key.router_name
        if name in self.holding:
            return self.holding[name]
        making = self._holding_made.get(name)
        if making is None:
            making = self._holding_made[name] = asyncio.ensure_future(self._make_holding(name))
            making.add_done_callback(lambda _: self._holding_made.pop(name, None))
        return await asyncio.shield(making)

    async def _make_holding(self, name: str) -> str:
        bridge = await self.ari.bridges.create(type="holding", name=f"tvoxcc-hold-{name}")
        await self.ari.bridges.moh_start(bridge.id)
        self.holding[name] = bridge.id
        return bridge.id

    async def _fallback(self, channel_id: str) -> None:
        await send_to_fallback(self.ari, channel_id)

    async def _hangup(self, channel_id: str) -> None:
        with contextlib.suppress(AriError):
            await self.ari.channels.hangup(channel_id)

    async def _destroy(self, bridge_id: str | None) -> None:
        if bridge_id is not None:
            with contextlib.suppress(AriError):
                await self.ari.bridges.destroy(bridge_id)

    async def _ring(self, item_id: str, agent_id: str, queue: str, ring_timeout_s: float) -> None:
        waiting = self.items.get(item_id)
        if waiting is None:
            return
        channel_id = f"{AGENT_LEG}-{uuid.uuid4().hex[:16]}"
        leg = Leg(channel_id, item_id, agent_id)
        self.legs[channel_id] = leg
        waiting.legs[agent_id] = leg
        caller = waiting.call.caller.number
        try:
            await self.ari.channels.originate(
                f"PJSIP/{agent_id}",
                app=self.ari.app,
                app_args=f"{AGENT_LEG},{item_id}",
                caller_id=f'"{queue.split("/", 1)[-1]}" <{caller}>',
                ring_timeout=int(ring_timeout_s) + 5,  # the router's own ring timer decides first
                channel_id=channel_id,
            )
        except AriError as exc:
            log.warning("ACD: cannot ring %s: %s", agent_id, exc)
            self.legs.pop(channel_id, None)
            waiting.legs.pop(agent_id, None)
            await self._apply(lambda now: self.router.ring_no_answer(item_id, agent_id, now))

    async def _drop_leg(self, item_id: str, agent_id: str) -> None:
        # By the legs we rang, not the waiting call: the call may have left the queue already.
        waiting = self.items.get(item_id)
        if waiting is not None:
            waiting.legs.pop(agent_id, None)
        for leg in [lg for lg in self.legs.values() if lg.item_id == item_id and lg.agent_id == agent_id]:
            if not leg.answered:
                self.legs.pop(leg.channel_id, None)
                await self._hangup(leg.channel_id)

    @abstractmethod
    async def _execute(self, command: q.Command) -> None:
        """Carry out one router command (tvoxcc.voice.acd)."""

    @abstractmethod
    async def _place_callback(self, command: q.PlaceCallback, events: list[q.Event]) -> None:
        """Open a callback attempt and dial the customer (tvoxcc.voice.acd_callbacks)."""
