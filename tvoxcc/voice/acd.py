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
import uuid

from tvoxcc.ari import AriBadRequest, AriError, Conflict, InvalidRequest
from tvoxcc.ivr.commands import EnterQueue
from tvoxcc.ivr.nodes import Flow
from tvoxcc.queues import model as q
from tvoxcc.queues import sync
from tvoxcc.voice.acd_agents import AcdAgents
from tvoxcc.voice.acd_base import AGENT_LEG, CALLBACK_LEG, CALLBACK_NOTICE, Leg, Waiting
from tvoxcc.voice.acd_config import QueueKey
from tvoxcc.voice.announce import announcement
from tvoxcc.voice.call import CallSession
from tvoxcc.voice.callbacks import CallbackJob
from tvoxcc.voice.directory import QueuePoint, UnknownRoute
from tvoxcc.voice.reconnect import gone, live_channels, lost_bridges

log = logging.getLogger(__name__)

__all__ = ["AGENT_LEG", "CALLBACK_LEG", "AcdQueue", "Leg", "Waiting"]


class AcdQueue(AcdAgents):
    """The ACD for calls: the QueueHandoff of the voice service."""

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
        if self.queue_log is not None:
            self.queue_log.close()

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
        # No removeChannel from the holding bridge first: Asterisk moves a channel added to another bridge
        # out of the Stasis bridge it is in (one request a call fewer).
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
                # The survey (FastAGI, another reader) looks up who answered: the call's facts are stored first.
                await self.acd.recorder.flush()
                with contextlib.suppress(AriError):
                    await self.ari.channels.continue_in_dialplan(
                        call.channel_id, context="tvoxcc-survey", extension="s", priority=1
                    )
                    return
            await self._hangup(call.channel_id)

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
