"""The ACD bound to real calls: callers wait in a holding bridge, the router picks the agent, ARI rings it.

The router (tvoxcc.queues) decides everything; this adapter only turns its commands into ARI calls and
ARI events into router calls:
- Offer -> originate the agent's PJSIP endpoint into our app (caller's number, queue name as caller name);
- the agent answers (its leg enters Stasis) -> accept -> caller and agent in a mixing bridge;
- the leg ends before answering (or the router's ring timer fires) -> ring-no-answer (RONA pause);
- either side hangs up -> complete (wrap-up follows) or abandon.
Callbacks (tvoxcc.voice.callbacks): stored requests become callback items of the router; when one's turn
comes the router reserves a free agent and says PlaceCallback -> the customer is dialled through the
tenant's outbound route -> on answer they wait in the queue's holding bridge while the reserved agent
rings (reserving first means the customer never waits for an agent who is not there; the agent waits a
few seconds of ringing) -> bridged as above. No answer/busy -> the router retries later at the same place.
Overflow to an IVR node or voicemail hands the caller back to the IVR interpreter (CallSession.continue_at).
Agents are routable while logged in, and an agent phone's reachability (ARI endpoint state) logs it in
or out; the feature codes of the FastAGI service log agents in, out and pause them by hand.
Router events are stored as interaction events and written to an Asterisk-compatible queue_log.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tvoxcc.agi.routes.agent import AgentRefused
from tvoxcc.ari import AriBadRequest, AriClient, AriError, Conflict, InvalidRequest, NotFound
from tvoxcc.ivr.commands import EnterQueue
from tvoxcc.ivr.nodes import Flow
from tvoxcc.queues import model as q
from tvoxcc.queues import sync
from tvoxcc.queues.router import Router
from tvoxcc.voice.acd_config import AcdDirectory, QueueKey
from tvoxcc.voice.announce import announcement
from tvoxcc.voice.call import CallSession, send_to_fallback
from tvoxcc.voice.callbacks import CallbackBook, CallbackJob, NotDiallable, OutboundRoute
from tvoxcc.voice.directory import Directory, QueuePoint, UnknownRoute
from tvoxcc.voice.lanes import Lanes
from tvoxcc.voice.presence import EndpointSubscriber, PresenceChange, presence_change
from tvoxcc.voice.reconnect import gone, live_channels, lost_bridges

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


class AcdQueue:
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
        self.queue_log = queue_log
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

    async def start(self) -> None:
        """Load queues and agents from the store into the router; start the timer task."""
        self.pause_codes = await self.acd.pause_codes()
        now = self._now()
        for config in await self.acd.queue_configs():
            self.router.add_queue(config, now)
        for agent, memberships in await self.acd.agent_configs():
            self.router.add_agent(agent, now)
            for queue, penalty, weight in memberships:
                self.router.add_member(agent.agent_id, queue, now, penalty=penalty, weight=weight)
        await self._take_callbacks(again=True)
        self._ticker = asyncio.create_task(self._tick_forever(), name="acd-tick")

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._own_lanes:
            await self.lanes.close()
        for bridge_id in self.holding.values():
            with contextlib.suppress(AriError):
                await self.ari.bridges.destroy(bridge_id)

    async def _tick_forever(self) -> None:
        loop = asyncio.get_running_loop()
        next_poll = loop.time() + self.callback_poll_s
        next_config = loop.time() + self.config_poll_s
        while True:
            await asyncio.sleep(self.tick_seconds)
            try:
                await self._apply(lambda now: self.router.tick(now))
                await self._announce()
                if loop.time() >= next_poll:
                    next_poll = loop.time() + self.callback_poll_s
                    await self._take_callbacks()
                if loop.time() >= next_config:
                    next_config = loop.time() + self.config_poll_s
                    await self.sync_config()
            except Exception:
                log.exception("ACD tick failed")

    async def sync_config(self) -> int:
        """Take the queue and agent changes made with the CLI since the last look (skills, memberships,
        capacity, queue settings, new queues and agents) without a restart; returns how many."""
        queues = await self.acd.queue_configs()
        agents = await self.acd.agent_configs()
        found = sync.changes(self.router, queues, agents)
        for change in found:
            log.info("ACD: configuration change: %s", change)
            await self._apply(functools.partial(sync.apply, self.router, change))
        if found:
            if any(isinstance(change, sync.AddAgent) for change in found):
                await self.on_connected()  # follow the new phone's reachability; log it in if registered
            if self.on_config is not None:
                await self.on_config()
        elif self.presence.missing and await self.presence.retry():
            await self._follow_agents()  # a phone followed only now: log it in if it is registered
        return len(found)

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` after the current router call (it may call the router: the lock is not reentrant)."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _announce(self) -> None:
        """Periodic position and estimated-wait announcements (the queue's announce_every_seconds, counted from
        the end of the last one: an announcement can outlast the interval, and one queued behind another kept
        the caller from joining the agent who answered until all of them had played)."""
        now = self._now()
        for item_id, waiting in list(self.items.items()):
            if waiting.connecting or waiting.announcing is not None or now < waiting.next_announce:
                continue
            every = self.acd.announce_every.get(waiting.queue.router_name, 0)
            waiting.next_announce = now + every if every else float("inf")
            try:
                estimate = self.router.estimate(item_id)
            except q.RouterError:
                continue
            self.lanes.submit(item_id, self._announce_to(item_id, waiting, estimate))

    async def _announce_to(self, item_id: str, waiting: Waiting, estimate: q.WaitEstimate) -> None:
        if waiting.connecting or self.items.get(item_id) is not waiting:
            return  # an agent answered (or the caller left) before its turn in the lane
        channel_id = waiting.call.channel_id  # a callback's item id is not its channel's
        playback_id = f"{channel_id}:announce-{uuid.uuid4().hex[:8]}"
        waiting.announcing = playback_id  # before the request: its end may be reported before it returns
        try:
            await self.ari.channels.play(
                channel_id,
                announcement(estimate),
                lang=waiting.language or waiting.call.caller.info.language,
                playback_id=playback_id,
            )
        except AriError:
            if waiting.announcing == playback_id:
                waiting.announcing = None

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
            with self.queue_log.open("a", encoding="utf-8") as handle:
                handle.writelines(line + "\n" for line in outputs.queue_log)
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

    async def _place_callback(self, command: q.PlaceCallback, events: list[q.Event]) -> None:
        await self._open_attempt(command.item_id)
        self._record(events)
        await self._carry_out(command)

    def playback_finished(self, playback_id: str) -> None:
        """A playback ended: when it was a caller's announcement, the next one is due ``every`` s from now."""
        waiting = self.items.get(playback_id.rpartition(":")[0])
        if waiting is not None and waiting.announcing == playback_id:
            waiting.announcing = None
            every = self.acd.announce_every.get(waiting.queue.router_name, 0)
            waiting.next_announce = self._now() + every if every else float("inf")

    # -- the voice service's side ------------------------------------------------------------------

    def lane_of(self, channel_id: str, args: tuple[str, ...] = ()) -> str:
        """The lane of the call a channel belongs to: an agent leg's or a callback's is its item's."""
        if len(args) > 1 and args[0] in (AGENT_LEG, CALLBACK_LEG):
            return args[1]
        leg = self.legs.get(channel_id)
        if leg is not None:
            return leg.item_id
        return self.dialing.get(channel_id, channel_id)

    async def enter(self, call: CallSession, command: EnterQueue, *, resumed: QueuePoint | None = None) -> None:
        """Queue the call (from its IVR task): done in the call's lane, in order with its hang-up.

        ``resumed``: where the call waited before a restart; it keeps its place in line and its wait.
        """
        await self.lanes.run(call.channel_id, self._enter(call, command, resumed))

    async def _enter(self, call: CallSession, command: EnterQueue, resumed: QueuePoint | None) -> None:
        now = self._now()
        arrived, queued = (resumed.arrived_at, resumed.queued_at) if resumed is not None else (now, now)
        point = QueuePoint.entering(command, arrived, queued)
        key = QueueKey(call.route.tenant, command.queue)
        try:
            bridge_id = await self._hold(key, call.channel_id)
        except AriError as exc:
            # Never left in silence: the dialplan fallback takes the caller (a no-op when they are gone).
            log.warning("ACD: call %s cannot wait in %s: %s; fallback", call.channel_id, key.router_name, exc)
            await self._fallback(call.channel_id)
            await call.directory.close(call.route, call.interaction, call.clock(), "fallback")
            return
        waiting = Waiting(call, key, bridge_id, language=command.language)
        every = self.acd.announce_every.get(key.router_name, 0)
        waiting.next_announce = self._now() + every if every else float("inf")
        self.items[call.channel_id] = waiting
        await call.directory.log(call.route, call.interaction, "queued", call.clock(), point.data())
        work = q.WorkItem(
            item_id=call.channel_id,
            queue=key.router_name,
            channel=q.Channel.VOICE,
            contact_priority=command.priority + (10 if call.caller.info.vip else 0),
            caller_id=call.caller.number,
            skills=dict(command.skills),  # the IVR's set node: only agents with these levels (relaxed by the queue)
            arrived_at=point.arrived_at,
            queued_at=point.queued_at,
        )
        if await self._apply(lambda now: self.router.enqueue(work, now)) is None:
            # The router refused it (a queue it does not have): nobody would ever take this call.
            self.items.pop(call.channel_id, None)
            with contextlib.suppress(AriError):
                await self.ari.bridges.remove_channel(bridge_id, call.channel_id)
            await self._fallback(call.channel_id)
            await call.directory.close(call.route, call.interaction, call.clock(), "fallback")

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

    async def on_stasis_start(self, channel_id: str, args: tuple[str, ...]) -> bool:
        """An agent leg or a callback we originated was answered. Returns False for channels that are not ours."""
        if args and args[0] == CALLBACK_LEG:
            await self._customer_answered(channel_id, args[1] if len(args) > 1 else "")
            return True
        if not args or args[0] != AGENT_LEG:
            return False
        leg = self.legs.get(channel_id)
        waiting = self.items.get(leg.item_id) if leg else None
        if leg is None or waiting is None:
            with contextlib.suppress(AriError):
                await self.ari.channels.hangup(channel_id)  # answered too late: the caller is gone
            return True
        accepted = await self._apply(
            lambda now: self.router.accept(leg.item_id, leg.agent_id, now, bridged_id=channel_id)
        )
        if accepted is None:  # ring-all: another agent was first
            self.legs.pop(channel_id, None)
            await self._hangup(channel_id)
            return True
        leg.answered = True
        await self._connect(waiting, leg)
        return True

    async def _connect(self, waiting: Waiting, leg: Leg) -> None:
        call = waiting.call
        waiting.connecting = True  # before any await: the announcer runs meanwhile
        if waiting.announcing is not None:
            # A channel still playing an announcement cannot join the agent's bridge.
            with contextlib.suppress(AriError):
                await self.ari.playbacks.stop(waiting.announcing)
            waiting.announcing = None
        with contextlib.suppress(AriError):
            await self.ari.bridges.remove_channel(waiting.holding_id, call.channel_id)
        bridge = await self.ari.bridges.create(type="mixing", name=f"tvoxcc-call-{call.channel_id}")
        waiting.bridge_id = bridge.id
        try:
            await self._join(bridge.id, [call.channel_id, leg.channel_id])
        except AriError as exc:
            # The caller hung up while the agent answered: its hang-up event ends the item.
            log.info("ACD: call %s could not be bridged to %s: %s", call.channel_id, leg.agent_id, exc)
            await self._hangup(leg.channel_id)
            # The agent did pick up and the router counted the call connected: the interaction says who.
            await self.acd.answered(call, waiting.queue, leg.agent_id, self.clock())
            return
        recording = None
        if waiting.queue.router_name in self.acd.recorded:
            recording = f"tvoxcc-call-{call.channel_id}".replace(".", "-")
            try:
                await self.ari.bridges.record(bridge.id, recording, format="wav", if_exists="overwrite")
            except AriError as exc:
                log.warning("ACD: cannot record call %s: %s", call.channel_id, exc)
                recording = None
        await self.acd.answered(call, waiting.queue, leg.agent_id, self.clock(), recording=recording)

    async def _join(self, bridge_id: str, channels: list[str], attempts: int = 10) -> None:
        # A stopped announcement releases the channel a moment later: until then Asterisk answers
        # "Channel not found" to addChannel. Retry briefly rather than drop a call an agent answered.
        for attempt in range(attempts):
            try:
                await self.ari.bridges.add_channel(bridge_id, channels)
                return
            except (AriBadRequest, Conflict, InvalidRequest):
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.1)

    async def left(self, channel_id: str) -> None:
        """A channel hung up or left Stasis: a caller, or one of our agent legs."""
        leg = self.legs.pop(channel_id, None)
        if leg is not None:
            await self._leg_gone(leg)
            return
        item_id = self.dialing.pop(channel_id, None)
        if item_id is None:
            item_id = channel_id
        else:
            job = self.callbacks.get(item_id)
            if job is not None and not job.answered:
                # busy, no answer, or the trunk refused; in the callback's lane, in order with its commands
                await self.lanes.run(item_id, self._callback_failed(item_id, "no-answer"))
                return
        waiting = self.items.get(item_id)
        if waiting is None:
            return
        connected = next((lg for lg in waiting.legs.values() if lg.answered), None)
        if connected is not None:
            await self._apply(lambda now: self.router.complete(item_id, now, by_caller=True))
            self.legs.pop(connected.channel_id, None)
            await self._hangup(connected.channel_id)
            outcome = "answered"
        else:
            await self._apply(lambda now: self.router.abandon(item_id, now))
            outcome = "abandoned"
        self.items.pop(item_id, None)  # only now: the router's events above are stored with the call
        await self._destroy(waiting.bridge_id)
        call = waiting.call
        await call.directory.close(call.route, call.interaction, call.clock(), outcome)
        await self._callback_over(item_id, outcome)

    async def _leg_gone(self, leg: Leg) -> None:
        waiting = self.items.get(leg.item_id)
        if waiting is not None:
            waiting.legs.pop(leg.agent_id, None)
        if not leg.answered:
            await self._apply(lambda now: self.router.ring_no_answer(leg.item_id, leg.agent_id, now))
            return
        # The agent hung up a connected call: the caller goes to the survey when the queue asks for
        # one (the dialplan's tvoxcc-survey finds the interaction by the caller's channel), else hangs up.
        await self._apply(lambda now: self.router.complete(leg.item_id, now, by_caller=False))
        if waiting is not None:
            self.items.pop(leg.item_id, None)  # after the router call, so its events find the call
            call = waiting.call
            await call.directory.close(call.route, call.interaction, call.clock(), "answered")
            await self._callback_over(leg.item_id, "answered")
            await self._destroy(waiting.bridge_id)
            if waiting.queue.router_name in self.acd.surveyed:
                with contextlib.suppress(AriError):
                    await self.ari.channels.continue_in_dialplan(
                        call.channel_id, context="tvoxcc-survey", extension="s", priority=1
                    )
                    return
            await self._hangup(call.channel_id)

    async def on_endpoint(self, resource: str, state: str) -> None:
        """An agent phone registered (online) or went away (offline).

        Asterisk also reports an endpoint's state when its channels change (a feature code call): only a
        change of state logs the agent in or out, so *72 is not undone by the phone's next call.
        """
        if resource not in self.router.agents:
            return
        change = presence_change(self.endpoint_states.get(resource), state)
        self.endpoint_states[resource] = state
        if change is PresenceChange.LOGIN:
            await self._apply(lambda now: self.router.login(resource, now, interface=f"PJSIP/{resource}"))
        elif change is PresenceChange.LOGOUT:
            await self._apply(lambda now: self.router.logout(resource, now))

    async def on_connected(self) -> None:
        """After every (re)connect: forget what Asterisk lost (it may have restarted), follow agent phones'
        reachability and log in those already online."""
        for key in await lost_bridges(self.ari, self.holding):
            log.warning("ACD: holding bridge of %s is gone (Asterisk restarted?): a new one when needed", key)
            del self.holding[key]
        live = await live_channels(self.ari)
        if live is not None:
            tracked = [w.call.channel_id for w in self.items.values()] + list(self.legs) + list(self.dialing)
            for channel_id in gone(tracked, live):
                # No hang-up event will come for it: close it now (abandoned, or completed if connected).
                log.warning("ACD: channel %s is gone (Asterisk restarted?): ending its call", channel_id)
                await self.lanes.run(self.lane_of(channel_id), self.left(channel_id))
        await self._follow_agents()

    async def _follow_agents(self) -> None:
        await self.presence.subscribe(self.router.agents)
        try:
            endpoints = await self.ari.endpoints.list("PJSIP")
        except AriError as exc:
            log.warning("ACD: cannot list endpoints: %s", exc)
            return
        for endpoint in endpoints:
            await self.on_endpoint(endpoint.resource, endpoint.state)

    # -- agent feature codes (FastAGI routes, tvoxcc.agi.routes.agent) ------------------------------

    def _known(self, agent_id: str) -> str:
        if agent_id not in self.router.agents:
            raise AgentRefused(f"unknown agent {agent_id!r}")
        return agent_id

    async def agent_login(self, agent_id: str) -> None:
        agent = self._known(agent_id)
        await self._apply(lambda now: self.router.login(agent, now, interface=f"PJSIP/{agent}"), strict=True)

    async def agent_logout(self, agent_id: str) -> None:
        agent = self._known(agent_id)
        await self._apply(lambda now: self.router.logout(agent, now), strict=True)

    async def agent_pause(self, agent_id: str, code: str) -> str:
        agent = self._known(agent_id)
        tenant = self.acd.tenant_of(agent)
        name = self.pause_codes.get(tenant, {}).get(code)
        if name is None:
            raise AgentRefused(f"no pause code {code!r} in tenant {tenant!r}")
        await self._apply(lambda now: self.router.pause(agent, now, name), strict=True)
        return name

    async def agent_unpause(self, agent_id: str) -> None:
        agent = self._known(agent_id)
        await self._apply(lambda now: self.router.unpause(agent, now), strict=True)

    async def agent_status(self, agent_id: str) -> str:
        return str(self.router.agent_status(self._known(agent_id)))

    # -- router commands -----------------------------------------------------------------------------

    async def _execute(self, command: q.Command) -> None:
        match command:
            case q.Offer(item_id=item_id, agent_id=agent_id, queue=queue, ring_timeout_s=ring):
                await self._ring(item_id, agent_id, queue, ring)
            case q.CancelOffer(item_id=item_id, agent_id=agent_id):
                await self._drop_leg(item_id, agent_id)
            case q.PauseAgent(agent_id=agent_id, reason=reason):
                log.info("ACD: agent %s paused (%s)", agent_id, reason)
            case q.Overflow(item_id=item_id, action=action, target=target):
                await self._overflow(item_id, action, target)
            case q.ExitQueue(item_id=item_id, reason=reason):
                waiting = self.items.pop(item_id, None)
                if waiting is not None:
                    log.info("ACD: call %s leaves the queue (%s)", item_id, reason)
                    await self._fallback(waiting.call.channel_id)
                job = self.callbacks.pop(item_id, None)
                if job is not None and waiting is None:  # no more attempts
                    log.info("ACD: callback %s to %s failed (%s)", job.callback_id, job.number, reason)
                    await self.book.finished(job, self.clock(), status="failed", outcome="no-answer")
            case q.PlaceCallback(item_id=item_id):
                await self._dial_customer(item_id)
            case q.StartWrapup(agent_id=agent_id, until=until, at=at):
                # its length from when the router began it, not from now: commands run a moment later
                self.acd.store_wrapup(agent_id, "wrapup-started", until - at, at, self.clock())
            case q.EndWrapup(agent_id=agent_id):
                self.acd.store_wrapup(agent_id, "wrapup-ended", None, self._now(), self.clock())

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

    async def _overflow(self, item_id: str, action: q.OverflowAction, target: str | None) -> None:
        waiting = self.items.get(item_id)
        if waiting is None:
            return
        if action is q.OverflowAction.QUEUE and target is not None:
            # The router moved the item itself; its target is a router name ("tenant/queue").
            waiting.queue = QueueKey(waiting.queue.tenant, target.split("/", 1)[-1])
            return
        self.items.pop(item_id, None)
        call = waiting.call
        flow = call.route.flow
        if action is q.OverflowAction.CALLBACK:
            # The router keeps the item's place as a callback: store it, tell the caller, let them go.
            callback_id = await call.directory.request_callback(
                call.route,
                call.interaction,
                waiting.queue.name,
                call.caller.number,
                self.clock(),
                status="queued",
                event=False,  # the router's callback-requested event is stored with the call
            )
            route = call.route
            self.callbacks[item_id] = CallbackJob(
                item_id, callback_id, route.tenant, route.tenant_id, route.service, waiting.queue.name,
                call.caller.number, call.interaction.id,
            )  # fmt: skip
            await call.directory.close(route, call.interaction, self.clock(), "callback")
            notice = Flow.model_validate(
                {
                    "service": route.service,
                    "start": "bye",
                    "nodes": {"bye": {"type": "hangup", "prompts": [CALLBACK_NOTICE]}},
                }
            )
            await self._back_to_ivr(waiting, "bye", notice)
        elif action is q.OverflowAction.IVR and flow is not None and target in flow.nodes:
            await self._back_to_ivr(waiting, target)
        elif action is q.OverflowAction.VOICEMAIL:
            # The IVR's voicemail: recorded, then a ticket with the recording. A target names the tenant's
            # own voicemail node (its prompts); else a plain one.
            if flow is not None and target in flow.nodes:
                await self._back_to_ivr(waiting, target)
            else:
                voicemail = Flow.model_validate(
                    {"service": call.route.service, "start": "voicemail", "nodes": {"voicemail": {"type": "voicemail"}}}
                )
                await self._back_to_ivr(waiting, "voicemail", voicemail)
        else:
            log.warning("ACD: overflow of %s to %s %r: no such target, fallback", item_id, action, target)
            await self._fallback(call.channel_id)

    async def _back_to_ivr(self, waiting: Waiting, node: str, flow: Flow | None = None) -> None:
        call = waiting.call
        if waiting.announcing is not None:
            with contextlib.suppress(AriError):
                await self.ari.playbacks.stop(waiting.announcing)
        with contextlib.suppress(AriError):
            await self.ari.bridges.remove_channel(waiting.holding_id, call.channel_id)
        self._spawn(call.continue_at(node, flow))

    # -- callbacks ---------------------------------------------------------------------------------

    async def _take_callbacks(self, *, again: bool = False) -> None:
        """Stored requests of tenants with an outbound route become callback items of their queue; those an
        operator cancelled leave the line."""
        waiting = {job.callback_id: item_id for item_id, job in self.callbacks.items() if job.channel_id is None}
        for callback_id in await self.book.cancelled(waiting):
            await self._cancel_callback(waiting[callback_id])
        self.outbound = await self.book.outbound_routes()
        if not self.outbound:
            return
        for job in await self.book.take_pending(set(self.outbound), again=again):
            if job.item_id in self.callbacks:
                continue
            if job.left_ringing is not None:
                # A previous run stopped while dialling: its call may still ring the customer (or be answered
                # with nobody to take it). End it before dialling again, so they never get two calls.
                log.warning("ACD: callback %s: hanging up the attempt a previous run left", job.callback_id)
                await self._hangup(job.left_ringing)
                await self.book.finished(job, self.clock(), status="queued", outcome="interrupted")
            self.callbacks[job.item_id] = job
            work = q.WorkItem(
                item_id=job.item_id,
                queue=QueueKey(job.tenant, job.queue).router_name,
                channel=q.Channel.CALLBACK,
                callback_number=job.number,
            )
            if await self._apply(functools.partial(self._enqueue, work)) is None:
                self.callbacks.pop(job.item_id, None)  # a queue made after the ACD started: later
                await self.book.finished(job, self.clock(), status="pending", outcome=None)

    def _enqueue(self, work: q.WorkItem, now: float) -> q.Outputs:
        return self.router.enqueue(work, now)

    async def _open_attempt(self, item_id: str) -> None:
        job = self.callbacks.get(item_id)
        route = self.outbound.get(job.tenant) if job else None
        if job is None:
            return
        job.channel_id = f"{CALLBACK_LEG}-{uuid.uuid4().hex[:16]}"
        job.answered = False
        caller_id = route.caller_id if route else ""
        interaction_id = await self.book.placing(job, job.channel_id, caller_id, self.clock())
        if interaction_id is None:  # cancelled by an operator since the last poll: never dial it
            job.channel_id, job.cancelled = None, True
            return
        job.interaction_id = interaction_id

    async def _dial_customer(self, item_id: str) -> None:
        job = self.callbacks.get(item_id)
        route = self.outbound.get(job.tenant) if job else None
        if job is not None and job.cancelled:
            self.lanes.submit(item_id, self._cancel_callback(item_id))  # frees the reserved agent
            return
        try:
            if job is None or job.channel_id is None or route is None:
                raise NotDiallable("no outbound route")
            self.dialing[job.channel_id] = item_id
            await self.ari.channels.originate(
                route.dial(job.number),
                app=self.ari.app,
                app_args=f"{CALLBACK_LEG},{item_id}",
                caller_id=route.caller_id or None,
                ring_timeout=route.ring_seconds,
                channel_id=job.channel_id,
            )
        except (AriError, NotDiallable) as exc:
            log.warning("ACD: cannot call back %s: %s", item_id, exc)
            if job is not None and job.channel_id is not None:
                self.dialing.pop(job.channel_id, None)
            self.lanes.submit(item_id, self._callback_failed(item_id, "not-dialled"))

    async def _customer_answered(self, channel_id: str, item_id: str) -> None:
        """The customer picked up: they wait in the queue's holding bridge while the reserved agent rings."""
        job = self.callbacks.get(item_id)
        if job is None or job.channel_id != channel_id:
            await self._hangup(channel_id)  # a stale attempt
            return
        # ARI events are handled one at a time: a hang-up meanwhile is seen after this returns, and fails the
        # attempt unless the customer made it into the holding bridge (answered).
        try:
            route = await self.directory.route(job.tenant, job.service)
            call = CallSession(channel_id, route, await self.directory.identify(route, job.number), self.ari,
                               self.directory, self, self.clock)  # fmt: skip
            key = QueueKey(job.tenant, job.queue)
            holding = await self._hold(key, channel_id)
        except (UnknownRoute, AriError) as exc:
            log.warning("ACD: callback %s answered but cannot be queued: %s", item_id, exc)
            await self._hangup(channel_id)
            return
        job.answered = True
        call.interaction = job.interaction() or call.interaction
        self.items[item_id] = Waiting(call, key, holding, next_announce=float("inf"))
        # Not taken again after a restart: the customer is (or was) on the line with us.
        await self.book.finished(job, self.clock(), status="answered", outcome=None)
        await self._apply(lambda now: self.router.callback_answered(item_id, now))

    async def _callback_failed(self, item_id: str, outcome: str) -> None:
        job = self.callbacks.get(item_id)
        if job is None:
            return
        outputs = await self._apply(lambda now: self.router.callback_failed(item_id, now))
        ends = outputs is not None and any(
            isinstance(command, q.ExitQueue) and command.item_id == item_id for command in outputs.commands
        )
        if not ends:  # a retry comes (else ExitQueue, in this item's lane, ends it as failed)
            await self.book.finished(job, self.clock(), status="queued", outcome=outcome)

    async def _cancel_callback(self, item_id: str) -> None:
        job = self.callbacks.get(item_id)
        if job is not None:
            log.info("ACD: callback %s to %s cancelled", job.callback_id, job.number)
            await self._apply(lambda now: self.router.abandon(item_id, now))
            self.callbacks.pop(item_id, None)  # only now: the router's events are stored with the request

    async def _callback_over(self, item_id: str, outcome: str) -> None:
        """A callback's conversation ended (or the customer left before an agent answered)."""
        job = self.callbacks.pop(item_id, None)
        if job is None:
            return
        if outcome == "answered":
            await self.book.finished(job, self.clock(), status="done", outcome=None, event="callback-completed")
        else:
            await self.book.finished(job, self.clock(), status="failed", outcome=None, event="callback-failed")

    async def _fallback(self, channel_id: str) -> None:
        await send_to_fallback(self.ari, channel_id)

    async def _hangup(self, channel_id: str) -> None:
        with contextlib.suppress(AriError):
            await self.ari.channels.hangup(channel_id)

    async def _destroy(self, bridge_id: str | None) -> None:
        if bridge_id is not None:
            with contextlib.suppress(AriError):
                await self.ari.bridges.destroy(bridge_id)
