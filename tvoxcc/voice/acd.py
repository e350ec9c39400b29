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
The router is the embedded ACD service's (tvoxcc.voice.acd_base): requests go to it, its commands come back
once committed; after a kill the calls keep their places (tvoxcc.voice.acd_restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from tvoxcc.acd import LeaseLost, NewItem, NotRouting
from tvoxcc.ari import AriBadRequest, AriError, Conflict, InvalidRequest
from tvoxcc.interactions import Outcome
from tvoxcc.ivr.commands import EnterQueue
from tvoxcc.queues import model as q
from tvoxcc.recordings.policy import RecordedLeg, RecordingPolicy, records_at_answer
from tvoxcc.voice.acd_base import AGENT_LEG, CALLBACK_LEG, Leg, Waiting
from tvoxcc.voice.acd_config import QueueKey
from tvoxcc.voice.acd_restart import AcdRestart
from tvoxcc.voice.call import CallSession
from tvoxcc.voice.call_recordings import LEG_RECORDING, PendingRecording, recording_name
from tvoxcc.voice.callback_status import CallbackStatus
from tvoxcc.voice.directory import QueuePoint, UnknownRoute
from tvoxcc.voice.reconnect import gone, live_channels, lost_bridges

log = logging.getLogger(__name__)

__all__ = ["AGENT_LEG", "CALLBACK_LEG", "AcdQueue", "Leg", "Waiting"]


class AcdQueue(AcdRestart):
    """The ACD for calls: the QueueHandoff of the voice service."""

    async def start(self) -> None:
        """Take the ACD's lease (a standby waits), restore its router from the store, start the timer task.
        Called again (the voice app starts its handoff): nothing more."""
        if self._ticker is not None:
            return
        self.pause_codes = await self.acd.pause_codes()
        await self._start_acd()
        await self._take_callbacks(again=True)
        self._ticker = asyncio.create_task(self._tick_forever(), name="acd-tick")
        self._guard = asyncio.create_task(self._guard_lease(), name="acd-lease-guard")

    async def close(self) -> None:
        """Stop: what was decided is committed and the lease given up (a standby takes over at once)."""
        self._held = []  # commands released from now on are not carried out: the calls stay as they are
        for running in (self._ticker, self._guard):
            if running is not None:
                running.cancel()
                await asyncio.gather(running, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.service.routing:
            await self.service.stop()
        if self._own_lanes:
            await self.lanes.close()
        await self.call_recordings.close()
        for bridge_id in self.holding.values():
            with contextlib.suppress(AriError):
                await self.ari.bridges.destroy(bridge_id)
        if self.queue_log is not None:
            self.queue_log.close()

    async def _tick_forever(self) -> None:
        loop = asyncio.get_running_loop()
        next_poll = loop.time() + self.callback_poll_s
        next_config = loop.time() + self.config_poll_s
        next_renewal = loop.time() + self.service.lease.ttl_s / 3
        while True:
            await asyncio.sleep(self.tick_seconds)
            try:
                await self.service.take_inputs()  # other processes' requests (tickets, agents' states…)
                due = self.service.next_timer_at()
                if due is not None and due <= self.service.clock():
                    self.service.tick()
                self.retry_logouts()
                if loop.time() >= next_renewal:
                    next_renewal = loop.time() + self.service.lease.ttl_s / 3
                    await self.service.lease.renew()
                await self._announce()
                if loop.time() >= next_poll:
                    next_poll = loop.time() + self.callback_poll_s
                    await self._take_callbacks()
                if loop.time() >= next_config:
                    next_config = loop.time() + self.config_poll_s
                    await self.sync_config()
            except (LeaseLost, NotRouting) as lost:
                self.on_lease_lost(lost)
                return
            except Exception:
                log.exception("ACD tick failed")

    async def _guard_lease(self) -> None:
        """Stop as soon as the store has not confirmed the lease for two thirds of its ttl, whatever hangs (cut
        off from PostgreSQL, the tick itself waits on a query that never returns): by the time a standby can
        take the lease this process no longer acts, and it never resumes routing when the network comes back."""
        lease = self.service.lease
        while True:
            await asyncio.sleep(lease.ttl_s / 24)
            if lease.overdue():
                self.on_lease_lost(LeaseLost(f"the store has not confirmed lease {lease.name!r} for 2/3 of its ttl"))
                return

    async def sync_config(self) -> int:
        """Take the queue and agent changes made with the CLI since the last look (skills, memberships,
        capacity, queue settings, new queues and agents) without a restart; returns how many."""
        agents = set(self.service.agent_ids())
        found = await self.service.reload_config()
        if found:
            log.info("ACD: %d configuration change(s) taken", found)
            if set(self.service.agent_ids()) - agents:
                await self._follow_agents()  # follow the new phones' reachability; log in those registered
            if self.on_config is not None:
                await self.on_config()
        elif self.presence.missing and await self.presence.retry():
            await self._follow_agents()  # a phone followed only now: log it in if it is registered
        return found

    async def enter(self, call: CallSession, command: EnterQueue, *, resumed: QueuePoint | None = None) -> None:
        """Queue the call (from its IVR task): done in the call's lane, in order with its hang-up.

        ``resumed``: where the call waited before a restart; it keeps its place in line and its wait.
        """
        await self.lanes.run(call.channel_id, self._enter(call, command, resumed))

    async def _enter(self, call: CallSession, command: EnterQueue, resumed: QueuePoint | None) -> None:
        stored = self._stored(call.channel_id) if resumed is not None else None
        if stored is not None and resumed is not None:
            await self._resume(call, command, stored, resumed)  # the restored ACD holds its place
            return
        now = self.service.clock()  # router time (the ACD's clock, not the adapter's)
        arrived, queued = (resumed.arrived_at, resumed.queued_at) if resumed is not None else (now, now)
        point = QueuePoint.entering(command, arrived, queued)
        key = QueueKey(call.route.tenant, command.queue)
        try:
            bridge_id = await self._hold(key, call.channel_id)
        except AriError as exc:
            # Never left in silence: the dialplan fallback takes the caller (a no-op when they are gone).
            log.warning("ACD: call %s cannot wait in %s: %s; fallback", call.channel_id, key.router_name, exc)
            await self._fallback(call.channel_id)
            await call.directory.close(call.route, call.interaction, call.clock(), Outcome.FALLBACK)
            return
        await self._wait_in(call, key, bridge_id, command.language, point)
        item = NewItem(
            key.router_name,
            q.Channel.VOICE,
            call.route.tenant_id,
            call.channel_id,
            contact_priority=command.priority + (10 if call.caller.info.vip else 0),
            caller_id=call.caller.number,
            skills=dict(command.skills),  # the IVR's set node: only agents with these levels (relaxed by the queue)
            arrived_at=point.arrived_at,
            queued_at=point.queued_at,
        )
        if self._apply(lambda: self.service.submit_item(item)[1]) is None:
            # The router refused it (a queue it does not have): nobody would ever take this call.
            self.items.pop(call.channel_id, None)
            with contextlib.suppress(AriError):
                await self.ari.bridges.remove_channel(bridge_id, call.channel_id)
            await self._fallback(call.channel_id)
            await call.directory.close(call.route, call.interaction, call.clock(), Outcome.FALLBACK)

    async def on_stasis_start(self, channel_id: str, args: tuple[str, ...]) -> bool:
        """An agent leg or a callback we originated was answered. Returns False for channels that are not ours."""
        if args and args[0] == LEG_RECORDING:
            return True  # a snoop recording one party of a call (tvoxcc.voice.call_recordings)
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
        accepted = self._apply(lambda: self.service.accept(leg.item_id, leg.agent_id, bridged_id=channel_id))
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
        policy = self.acd.recorded.get(waiting.queue.router_name)
        on_demand = policy is not None and policy[0] is RecordingPolicy.ON_DEMAND
        # A native RTP bridge relays the phones' RFC 2833 digits without Asterisk seeing them: an on-demand
        # queue's bridge asks for DTMF events, or the agent's *77 would never arrive (a recorded bridge already
        # carries its media through Asterisk, *78/*79 come anyway).
        bridge_type = "mixing,dtmf_events" if on_demand else "mixing"
        bridge = await self.ari.bridges.create(type=bridge_type, name=f"tvoxcc-call-{call.channel_id}")
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
        if policy is not None:
            name = recording_name(call.channel_id)
            queue_id, agent_id = self.acd.row_ids(waiting.queue, leg.agent_id)
            pending = PendingRecording(
                call.route.tenant,
                call.interaction,
                queue_id,
                agent_id,
                call.caller.contact_id,
                call.caller.number,
                self.clock(),
                agent_channel=leg.channel_id,
            )
            if on_demand:
                self.call_recordings.arm(bridge.id, name, pending)  # the agent's *77 starts it
            elif records_at_answer(*policy, self.sampling.random()):
                try:
                    await self.ari.bridges.record(bridge.id, name, format="wav", if_exists="overwrite")
                    self.call_recordings.started(name, pending)
                    recording = name
                except AriError as exc:
                    log.warning("ACD: cannot record call %s: %s", call.channel_id, exc)
                if recording is not None and waiting.queue.router_name in self.acd.legs_recorded:
                    parties = {RecordedLeg.CALLER: call.channel_id, RecordedLeg.AGENT: leg.channel_id}
                    await self.call_recordings.record_legs(name, parties, pending)
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
        self.call_recordings.disarm(channel_id)  # an agent leg of an on-demand call that never keyed *77
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
                await self.lanes.run(item_id, self._callback_failed(item_id, Outcome.NO_ANSWER))
                return
        waiting = self.items.get(item_id)
        if waiting is None:
            return
        connected = next((lg for lg in waiting.legs.values() if lg.answered), None)
        if connected is not None:
            self._apply(lambda: self.service.complete(item_id, by_caller=True))
            self.legs.pop(connected.channel_id, None)
            await self._hangup(connected.channel_id)
            outcome = Outcome.ANSWERED
        else:
            self._apply(lambda: self.service.abandon(item_id))
            outcome = Outcome.ABANDONED
        self.items.pop(item_id, None)  # only now: the router's events above are stored with the call
        await self._destroy(waiting.bridge_id, waiting.call.channel_id)
        call = waiting.call
        await call.directory.close(call.route, call.interaction, call.clock(), outcome)
        await self._callback_over(item_id, outcome)

    async def _leg_gone(self, leg: Leg) -> None:
        waiting = self.items.get(leg.item_id)
        if waiting is not None:
            waiting.legs.pop(leg.agent_id, None)
        if not leg.answered:
            self._apply(lambda: self.service.decline(leg.item_id, leg.agent_id))
            return
        # The agent hung up a connected call: the caller goes to the survey when the queue asks for
        # one (the dialplan's tvoxcc-survey finds the interaction by the caller's channel), else hangs up.
        self._apply(lambda: self.service.complete(leg.item_id, by_caller=False))
        if waiting is not None:
            self.items.pop(leg.item_id, None)  # after the router call, so its events find the call
            call = waiting.call
            await call.directory.close(call.route, call.interaction, call.clock(), Outcome.ANSWERED)
            await self._callback_over(leg.item_id, Outcome.ANSWERED)
            await self._destroy(waiting.bridge_id, call.channel_id)
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
        """After every (re)connect: the first after a start takes back what the stored ACD holds; then forget
        what Asterisk lost (it may have restarted), follow agent phones' reachability, log in those online."""
        await self._reconcile()
        for key in await lost_bridges(self.ari, self.holding):
            log.warning("ACD: holding bridge of %s is gone (Asterisk restarted?): a new one when needed", key)
            del self.holding[key]
        # What we track, before Asterisk is asked: an agent leg or a callback's customer leg still being originated
        # (an offer or a callback the commands released just now made, e.g. after a takeover) is in no list yet,
        # and is not gone (a callback taken for gone was failed while its customer's phone rang).
        placed = [channel_id for channel_id, leg in self.legs.items() if leg.placed]
        dialled = [channel_id for channel_id in self.dialing if channel_id not in self.originating]
        tracked = [w.call.channel_id for w in self.items.values()] + placed + dialled
        live = await live_channels(self.ari)
        if live is not None:
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
                    await self.book.finished(job, self.clock(), status=CallbackStatus.FAILED, outcome=Outcome.NO_ANSWER)
            case q.PlaceCallback(item_id=item_id):
                await self._dial_customer(item_id)

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
        await self.book.finished(job, self.clock(), status=CallbackStatus.ANSWERED, outcome=None)
        self._apply(lambda: self.service.callback_answered(item_id))
