"""The ACD adapter's state and plumbing: what every part of it shares (tvoxcc.voice.acd is the whole).

The router is not ours: the voice service embeds the ACD service (tvoxcc.acd.AcdService), whose state is
in the store's acd_* rows, and talks to it in process. ``AcdBase`` holds that service, the calls waiting and
ringing, the holding bridges, and runs requests: ``_apply`` makes one (no await: decisions never
interleave) and returns its Outputs. Every decision's Outputs, ours and those of the ACD's timers and of
other processes' requests, come to ``_observe`` at once: the wallboard's copy, the queue_log, the events
queued to the recorder. Its commands come later to ``_released``, once the rows of the decision are
committed (a ring never follows a decision a crash could undo), each to its item's lane. Commands released
before a restarted service took its calls back (``_held``) wait for that (tvoxcc.voice.acd_restart). The
parts built on it, one file each: callbacks (tvoxcc.voice.acd_callbacks), agent phones and feature codes
(tvoxcc.voice.acd_agents), holding and announcements (tvoxcc.voice.acd_holding), the restart
(tvoxcc.voice.acd_restart), the call flow (tvoxcc.voice.acd).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tvoxcc.acd import AcdService, Command, InProcess, InStore, NotRouting, StoreConfig
from tvoxcc.agi.routes.agent import AgentRefused
from tvoxcc.ari import AriClient, AriError, NotFound
from tvoxcc.ari.models import LiveRecording
from tvoxcc.interactions import InteractionEventKind as Kind
from tvoxcc.queues import model as q
from tvoxcc.queues.router import Router
from tvoxcc.recordings.repository import Repository
from tvoxcc.voice.acd_config import AcdDirectory, QueueKey
from tvoxcc.voice.call import CallSession, send_to_fallback
from tvoxcc.voice.call_recordings import CallRecordings, recording_name
from tvoxcc.voice.callbacks import CallbackBook, CallbackJob, OutboundRoute
from tvoxcc.voice.directory import Directory, QueuePoint
from tvoxcc.voice.lanes import Lanes
from tvoxcc.voice.presence import EndpointSubscriber, PresenceReports
from tvoxcc.voice.queue_log_file import QueueLogFile
from tvoxcc.voice.recorder import InteractionRef

log = logging.getLogger(__name__)

AGENT_LEG = "tvoxcc-agent"
CALLBACK_LEG = "tvoxcc-callback"
CALLBACK_NOTICE = "sound:thank-you-for-calling"  # said before hanging up a caller whose queue turned into a callback
VOICE_CHANNELS = (q.Channel.VOICE, q.Channel.CALLBACK)  # the items whose commands this adapter carries out
EXIT_LEASE_LOST = 3  # voice run's exit status when another ACD took the lease (it stops as a kill would)


@dataclass
class Leg:
    channel_id: str
    item_id: str
    agent_id: str
    answered: bool = False
    placed: bool = True  # False while its originate is under way: not in Asterisk's channel list yet


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
    """State shared by the ACD's parts, and running requests to the embedded ACD service."""

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
        lease_ttl_s: float = 15.0,
        acd_linger_s: float = 0.0,
        recordings: Repository | None = None,
    ) -> None:
        self.ari = ari
        self.acd = acd
        self.clock = clock
        self.call_recordings = CallRecordings(ari, acd.store, acd.recorder, recordings)
        self.sampling = random.Random()  # which calls of a sampled queue are recorded (not the ACD's rng)
        # The ACD routes on the wall clock, not ``clock``: its rows outlive this process, and the router's
        # time must never go back from one run to the next (tests run the service on shifted clocks).
        self.inbox = InProcess()  # commands of voice and callback items, and agents', once committed
        self.inbox.subscribe(self._released, channels=VOICE_CHANNELS)
        self.service = AcdService(
            acd.store,
            StoreConfig(acd.store, acd),
            # other processes' adapters (tickets, chats) read their items' commands from the store
            transports=[self.inbox, InStore([ch for ch in q.Channel if ch not in VOICE_CHANNELS])],
            rng=rng,
            router_factory=functools.partial(
                Router, callback_retry_s=callback_retry_s, callback_attempts=callback_attempts
            ),
            lease_ttl_s=lease_ttl_s,
            # voice run's [voice] acd_linger_seconds: an answer lost to a kill within it is found again in
            # Asterisk's bridges (tvoxcc.voice.acd_restart)
            linger_s=acd_linger_s,
        )
        self.service.on_outputs = self._observe
        self.on_lease_lost: Callable[[Exception], None] = _exit_lease_lost
        # Commands released before the calls were taken back after a (re)start: run once they are.
        self._held: list[q.Command] | None = []
        self._placing: dict[str, list[q.Event]] = {}  # callback item -> its events, until its PlaceCallback runs
        self._orphans: dict[str, InteractionRef] = {}  # stored item whose caller left meanwhile -> its interaction
        self.directory = Directory(acd.store, acd.recorder)
        self.book = CallbackBook(acd.store, acd.recorder)
        self.callbacks: dict[str, CallbackJob] = {}  # router item id -> the callback it is
        self.dialing: dict[str, str] = {}  # customer channel id -> callback item id
        # Of those, the ones whose originate is under way: not in Asterisk's channel list yet, so not "gone" at a
        # (re)connect's check (as an agent leg's ``placed``).
        self.originating: set[str] = set()
        self.outbound: dict[str, OutboundRoute] = {}  # tenant -> how it dials out
        self.callback_poll_s = callback_poll_s
        self.config_poll_s = config_poll_s
        self.on_config: Callable[[], Coroutine[Any, Any, None]] | None = None  # after a configuration change
        self._tasks: set[asyncio.Task[Any]] = set()
        self.queue_log = QueueLogFile(queue_log) if queue_log is not None else None
        self.tick_seconds = tick_seconds
        self.holding: dict[str, str] = {}  # queue key -> holding bridge id
        self.items: dict[str, Waiting] = {}  # item id (= caller channel id) -> call
        self.legs: dict[str, Leg] = {}  # agent leg channel id -> leg
        self._ticker: asyncio.Task[None] | None = None
        self._guard: asyncio.Task[None] | None = None
        # Each call's work (its commands, its agent legs' events) runs in order in the call's lane; calls
        # run side by side. Requests to the ACD never await, so they need no lock.
        self._own_lanes = lanes is None
        self.lanes = lanes or Lanes()
        self._holding_made: dict[str, asyncio.Future[str]] = {}  # queue -> its holding bridge being created
        self.pause_codes: dict[str, dict[str, str]] = {}  # tenant -> dialled code -> activity name
        self.endpoint_states: dict[str, str] = {}  # agent phone -> last reported state
        self.presence_reports = PresenceReports()  # a listing of phones never undoes a newer event (acd_agents)
        self.logouts_due: set[str] = set()  # agents whose phone went offline with an item in hand (acd_agents)
        self.presence = EndpointSubscriber(ari)  # follows agent phones, in checked chunks
        self.on_change: Callable[[q.Outputs], None] | None = None  # the wallboard's copy (tvoxcc.voice.live)
        # Items another adapter in this process carries out (campaign reservations): True when it took the command.
        self.foreign_items: Callable[[q.Command], bool] | None = None

    def _now(self) -> float:
        return self.clock().timestamp()

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` as a task of its own (cancelled on close)."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _apply(self, request: Callable[[], q.Outputs], *, strict: bool = False) -> q.Outputs | None:
        """Make one request to the ACD; its Outputs, or None when it refused (the state does not allow it).

        Nothing here waits: ``_observe`` has seen the Outputs when this returns, the commands follow once
        committed. ``strict``: a refusal raises AgentRefused (an agent's own request, answered with a prompt).
        """
        try:
            return request()
        except (q.RouterError, NotRouting) as exc:
            if strict:
                raise AgentRefused(str(exc)) from exc
            log.log(logging.WARNING if isinstance(exc, NotRouting) else logging.INFO, "ACD: %s", exc)
            return None

    def _observe(self, outputs: q.Outputs) -> None:
        """Every decision's Outputs, at once: the wallboard's copy, the queue_log, events to the recorder."""
        if self.on_change is not None:
            self.on_change(outputs)
        if self.queue_log is not None and outputs.queue_log:
            self.queue_log.append(outputs.queue_log)
        # A callback's attempt opens its own interaction first: the router's events about it go there.
        placing = {c.item_id for c in outputs.commands if isinstance(c, q.PlaceCallback)}
        for item_id in placing:
            self._placing[item_id] = [event for event in outputs.events if event.item_id == item_id]
        self._record([event for event in outputs.events if event.item_id not in placing])
        for event in outputs.events:
            if event.kind is q.EventKind.RING_NO_ANSWER and event.item_id and event.agent_id:
                # the router's ring timer fired: stop that agent's phone ringing
                self.lanes.submit(event.item_id, self._drop_leg(event.item_id, event.agent_id))

    def _released(self, command: Command) -> None:
        """A command whose decision is committed (the in-process transport): to its item's lane."""
        routed = command.router_command()
        if self._held is not None:
            self._held.append(routed)
        else:
            self._dispatch(routed)

    def _dispatch(self, command: q.Command) -> None:
        if self.foreign_items is not None and self.foreign_items(command):  # a campaign's (tvoxcc.campaigns)
            self._placing.pop(getattr(command, "item_id", ""), None)
            return
        if isinstance(command, q.PlaceCallback):
            events = self._placing.pop(command.item_id, [])
            self.lanes.submit(command.item_id, self._place_callback(command, events))
            return
        item_id = getattr(command, "item_id", None)
        if isinstance(item_id, str):
            self.lanes.submit(item_id, self._carry_out(command))
        elif isinstance(command, q.StartWrapup):
            # its length from when the router began it, not from now: commands run a moment later
            self.acd.store_wrapup(command.agent_id, Kind.WRAPUP_STARTED, command.until - command.at, command.at,
                                  self.clock())  # fmt: skip
        elif isinstance(command, q.EndWrapup):
            self.acd.store_wrapup(command.agent_id, Kind.WRAPUP_ENDED, None, self.service.clock(), self.clock())
        elif isinstance(command, q.PauseAgent):
            log.info("ACD: agent %s paused (%s)", command.agent_id, command.reason)

    def _release_held(self) -> None:
        held, self._held = self._held or [], None
        for command in held:
            self._dispatch(command)

    async def _carry_out(self, command: q.Command) -> None:
        try:
            await self._execute(command)
        except NotFound:
            log.info("ACD: %s on a gone channel", type(command).__name__)
        except AriError as exc:
            log.warning("ACD: %s failed: %s", type(command).__name__, exc)

    def _record(self, events: list[q.Event]) -> None:
        """Events of our calls and callbacks, and of agents and queues (not other channels' items)."""
        for event in events:
            item_id = event.item_id
            waiting = self.items.get(item_id or "")
            job = self.callbacks.get(item_id or "")
            if item_id and waiting is None and job is None and item_id not in self._orphans:
                continue
            interaction = waiting.call.interaction if waiting else job.interaction() if job else None
            interaction = interaction or self._orphans.get(item_id or "")
            self.acd.store_event(event, interaction, self.clock())

    def playback_finished(self, playback_id: str) -> None:
        """A playback ended: when it was a caller's announcement, the next one is due ``every`` s from now."""
        waiting = self.items.get(playback_id.rpartition(":")[0])
        if waiting is not None and waiting.announcing == playback_id:
            waiting.announcing = None
            every = self.acd.announce_every.get(waiting.queue.router_name, 0)
            waiting.next_announce = self._now() + every if every else float("inf")

    def recording_finished(self, recording: LiveRecording) -> None:
        """Asterisk finished a recording: a call's of ours goes to the recordings repository."""
        name = recording.name
        self.call_recordings.event(name, recording.state, recording.cause)
        if self.call_recordings.owns(name):
            self.lanes.submit(f"recording:{name}", self.call_recordings.finished(name, self.clock()))

    def dtmf(self, channel_id: str, digit: str, keyed_at: datetime | None) -> None:
        """A digit from a channel: an agent's leg may pause or resume its call's recording (*78 / *79)."""
        if self.call_recordings.owns_leg(channel_id):
            work = self.call_recordings.dtmf(channel_id, digit, keyed_at, self.clock())
            self.lanes.submit(self.lane_of(channel_id), work)

    def lane_of(self, channel_id: str, args: tuple[str, ...] = ()) -> str:
        """The lane of the call a channel belongs to: an agent leg's or a callback's is its item's."""
        if len(args) > 1 and args[0] in (AGENT_LEG, CALLBACK_LEG):
            return args[1]
        leg = self.legs.get(channel_id)
        if leg is not None:
            return leg.item_id
        return self.dialing.get(channel_id, channel_id)

    async def _wait_in(
        self, call: CallSession, key: QueueKey, bridge_id: str, language: str, point: QueuePoint
    ) -> None:
        """The caller waits in ``key``'s holding bridge: its announcements scheduled, its ``queued`` event stored
        (where the next restart finds what its IVR chose and when it entered)."""
        waiting = Waiting(call, key, bridge_id, language=language)
        every = self.acd.announce_every.get(key.router_name, 0)
        waiting.next_announce = self._now() + every if every else float("inf")
        self.items[call.channel_id] = waiting
        await call.directory.log(call.route, call.interaction, Kind.QUEUED, call.clock(), point.data())

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

    async def _destroy(self, bridge_id: str | None, caller_channel: str | None = None) -> None:
        """Destroy a bridge; a call's (``caller_channel``): its recordings finish now, and are watched till they
        are stored (their RecordingFinished may never come: tvoxcc.voice.call_recordings)."""
        if bridge_id is not None:
            with contextlib.suppress(AriError):
                await self.ari.bridges.destroy(bridge_id)
        if caller_channel is not None:
            self.call_recordings.call_ended(recording_name(caller_channel), self.clock)

    async def _ring(self, item_id: str, agent_id: str, queue: str, ring_timeout_s: float) -> None:
        waiting = self.items.get(item_id)
        if waiting is None:
            return
        channel_id = f"{AGENT_LEG}-{uuid.uuid4().hex[:16]}"
        leg = Leg(channel_id, item_id, agent_id, placed=False)
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
            self._apply(lambda: self.service.decline(item_id, agent_id))
            return
        leg.placed = True

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
        """Carry out one command of an item (tvoxcc.voice.acd)."""

    @abstractmethod
    async def _place_callback(self, command: q.PlaceCallback, events: list[q.Event]) -> None:
        """Open a callback attempt and dial the customer (tvoxcc.voice.acd_callbacks)."""


def _exit_lease_lost(error: Exception) -> None:
    """Another ACD routes now: stop at once, as a kill would (the rows hold every decision committed; calls
    stay in Asterisk). Restarted, ``voice run`` waits as a standby and takes them back when it routes again."""
    log.critical("ACD: %s: voice run stops (exit %d)", error, EXIT_LEASE_LOST)
    logging.shutdown()
    os._exit(EXIT_LEASE_LOST)
