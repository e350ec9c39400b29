"""The Stasis application: ARI events in, one CallSession task per channel.

After every (re)connect it asks Asterisk which channels are in the app and resumes those it does not
know (the service was restarted or killed): their IVR starts again from the top on the same interaction,
and a call that was already queued goes back to its queue at the place the ACD's rows kept for it.
Nobody is hung up by us and nobody is left in silence; callers who arrived while the service was down were
served by the dialplan fallback. Calls it knows whose channels left the app meanwhile (Asterisk restarted)
are ended, so no interaction stays open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tvoxcc.ari import AriClient, AriError, Connected, Disconnected, StreamItem
from tvoxcc.ari import events as ev
from tvoxcc.ari.models import LiveRecording
from tvoxcc.ivr import events as ivr
from tvoxcc.ivr.commands import IvrExit
from tvoxcc.supervision.adapter import Supervision
from tvoxcc.supervision.store import ListenStore
from tvoxcc.voice.acd import AcdQueue
from tvoxcc.voice.acd_config import AcdDirectory
from tvoxcc.voice.call import CallSession, send_to_fallback
from tvoxcc.voice.call_recordings import is_leg_snoop
from tvoxcc.voice.directory import Directory, QueuePoint, UnknownRoute
from tvoxcc.voice.handoff import QueueHandoff
from tvoxcc.voice.lanes import Lanes
from tvoxcc.voice.left_open import left_open
from tvoxcc.voice.nodes import EventStream, NodeDown, NodeItem, NodeLost, NodesAri, NodeUp
from tvoxcc.voice.overload import LagMeter
from tvoxcc.voice.reconnect import live_channels
from tvoxcc.voice.recorder import InteractionRef

if TYPE_CHECKING:
    from tvoxcc.campaigns.service import CampaignService
    from tvoxcc.voice.agent_calls import AgentCalls

log = logging.getLogger(__name__)

# The ARI event types ``dispatch`` acts on; the reader does not even build the others.
HANDLED_EVENTS = frozenset(
    {
        "StasisStart",
        "StasisEnd",
        "ChannelDestroyed",
        "ChannelDtmfReceived",
        "PlaybackFinished",
        "RecordingFinished",
        "RecordingFailed",
        "EndpointStateChange",
    }
)
CONTROL_LANE = "voice:connection"  # resync after (re)connect, in order with the next one
CAMPAIGN_LANE = "voice:campaigns"  # every campaign line's and agent leg's events, in order


def utc_now() -> datetime:
    return datetime.now(UTC)


def _arrival(point: QueuePoint) -> float:
    return float("inf") if point.arrived_at is None else point.arrived_at


class VoiceApp:
    def __init__(
        self,
        ari: AriClient,
        directory: Directory,
        *,
        handoff: QueueHandoff | None = None,
        clock: Callable[[], datetime] = utc_now,
        queue_log: Path | None = None,
        lanes: Lanes | None = None,
    ) -> None:
        self.ari = ari
        self.directory = directory
        self.clock = clock
        self.lanes = lanes or Lanes()  # shared with the ACD: a call's events and its ACD work in one order
        self.handoff = handoff or AcdQueue(
            ari, AcdDirectory(directory.store, directory.recorder), clock, queue_log=queue_log, lanes=self.lanes
        )
        self.supervision = Supervision(ari, ListenStore(directory.store), clock, self.lanes)  # listen/whisper/barge
        self.calls: dict[str, CallSession] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.ready = asyncio.Event()  # set once connected and resynchronised
        self.overload = LagMeter(backlog=self.lanes.backlog)
        self.campaigns: CampaignService | None = None  # `voice run` works campaigns (tvoxcc.campaigns.service)
        self.agent_calls: AgentCalls | None = None  # agents' own calls (tvoxcc.voice.agent_calls)
        self.nodes = ari if isinstance(ari, NodesAri) else None  # N Asterisk nodes (tvoxcc.voice.nodes), or one

    async def run(self) -> None:
        await self.handoff.start()
        stream: EventStream = (
            self.nodes.node_events(HANDLED_EVENTS) if self.nodes is not None else self.ari.events(only=HANDLED_EVENTS)
        )
        meter = asyncio.create_task(self.overload.run(), name="voice-overload")
        self.supervision.start()
        try:
            async for item in stream:
                try:
                    self.dispatch(item)
                except Exception:
                    # One event's failure (one call's) must never stop the service for every other call.
                    log.exception("voice: handling %s failed", type(item).__name__)
        finally:
            meter.cancel()
            await self.supervision.close()
            await stream.close()
            for task in self.tasks.values():
                task.cancel()
            await self.lanes.close()
            await self.handoff.close()

    def dispatch(self, item: StreamItem | NodeItem) -> None:
        """Hand an event's work to its call's lane and return at once: the reader never waits."""
        match item:
            case Connected():
                self.lanes.submit(CONTROL_LANE, self._connected())
            case Disconnected():
                self.ready.clear()
            case NodeUp(node=node):
                self.lanes.submit(CONTROL_LANE, self._connected(node))
            case NodeDown(node=node, reason=reason):
                log.warning("voice: Asterisk node %s disconnected (%s)", node, reason)
            case NodeLost(node=node):
                self.lanes.submit(CONTROL_LANE, self._node_lost(node))
            case _ if self.campaigns is not None and self.campaigns.claims(item):
                self.lanes.submit(CAMPAIGN_LANE, self.campaigns.on_event(item))
            case ev.StasisStart(channel=channel, args=args) if self.supervision.claims(args):
                self.supervision.stasis_start(channel.id, args)
            case ev.StasisStart(channel=channel, args=args) if self.agent_calls and self.agent_calls.claims(args):
                self.agent_calls.stasis_start(channel.id, args)
            case ev.ChannelDestroyed(channel=channel, cause=cause) if self.agent_calls and self.agent_calls.owns(
                channel.id
            ):
                self.agent_calls.gone(channel.id, cause)
            case ev.StasisEnd(channel=channel) if self.agent_calls and self.agent_calls.owns(channel.id):
                pass  # its ChannelDestroyed (with the cause) ends the call
            case ev.StasisStart(channel=channel, args=args):
                lane = self.handoff.lane_of(channel.id, args)
                if lane == channel.id and channel.id not in self.calls and self.overload.overloaded:
                    self.lanes.submit(lane, self._shed(channel.id, channel.caller.number, args))
                else:
                    self.lanes.submit(lane, self._stasis_start(channel.id, channel.caller.number, args))
            case ev.EndpointStateChange(endpoint=endpoint):
                work = self.handoff.on_endpoint(endpoint.resource, endpoint.state)
                self.lanes.submit(f"endpoint:{endpoint.resource}", work)
            case ev.ChannelDtmfReceived(channel=channel, digit=digit, timestamp=keyed_at):
                self.supervision.dtmf(channel.id, digit)
                self._feed(channel.id, ivr.Dtmf(digit))
                self.handoff.dtmf(channel.id, digit, keyed_at)
            case ev.PlaybackFinished(playback=playback):
                self.handoff.playback_finished(playback.id)
                channel_id = playback.id.rpartition(":")[0]
                self._feed(channel_id, ivr.PlaybackDone(CallSession.token_of(playback.id)))
            case ev.RecordingFinished(recording=recording) | ev.RecordingFailed(recording=recording):
                self._recording_done(recording)
            case ev.StasisEnd(channel=channel) | ev.ChannelDestroyed(channel=channel):
                owned = self.supervision.owns(channel.id)
                self.supervision.gone(channel.id)  # a supervisor's leg, or an agent's leg someone listens to
                if owned:
                    return
                self.lanes.submit(self.handoff.lane_of(channel.id), self._gone(channel.id))
            case _:
                pass

    async def _connected(self, node: str | None = None) -> None:
        resumed = await self.resync(node)
        await self.handoff.on_connected()
        self.ready.set()
        where = f", node {node}" if node else ""
        log.info("voice service ready (app %s%s, %d call(s) resumed)", self.ari.app, where, resumed)

    async def _node_lost(self, node: str) -> None:
        """A node gone past the grace: its calls cannot be saved (their media ran through it); each is ended
        as a hang-up would end it (interaction closed, ACD item removed, agent's leg freed)."""
        if self.nodes is None:  # one Asterisk: never lost, only disconnected
            return
        channels = self.nodes.channels_on(node)
        log.warning("voice: Asterisk node %s lost: ending its %d channel(s)", node, len(channels))
        for channel_id in channels:
            if self.supervision.owns(channel_id):
                self.supervision.gone(channel_id)
                continue
            await self.lanes.run(self.handoff.lane_of(channel_id), self._gone(channel_id))
        self.nodes.forget_node(node)

    async def _shed(self, channel_id: str, number: str, args: tuple[str, ...]) -> None:
        """Overloaded: a new caller hears the busy message at once; the call is stored as ``shed``."""
        self.overload.shed += 1
        if self.overload.shed % 100 == 1:
            log.warning(
                "voice: overloaded (loop %.0f ms late): %d call(s) shed", 1000 * self.overload.lag, self.overload.shed
            )
        await self._fallback(channel_id)
        if len(args) >= 2:
            try:
                route = await self.directory.route(args[0], args[1])
            except UnknownRoute:
                return
            self.directory.shed(route, number, channel_id, self.clock())

    async def _stasis_start(self, channel_id: str, number: str, args: tuple[str, ...]) -> None:
        if await self.handoff.on_stasis_start(channel_id, args):
            return
        if channel_id not in self.calls:
            await self.begin(channel_id, number, args)

    def _feed(self, channel_id: str, event: ivr.IvrEvent) -> None:
        call = self.calls.get(channel_id)
        if call is not None:
            call.feed(event)

    def _recording_done(self, recording: LiveRecording) -> None:
        self.handoff.recording_finished(recording)
        for call in self.calls.values():
            token = call.recordings.get(recording.name)
            if token is not None:
                call.feed(ivr.RecordingDone(token, float(recording.duration)))

    async def _gone(self, channel_id: str) -> None:
        call = self.calls.pop(channel_id, None)
        if call is not None:
            call.feed(ivr.CallerHungUp())
        await self.handoff.left(channel_id)

    async def begin(self, channel_id: str, caller_number: str, args: tuple[str, ...], *, resumed: bool = False) -> None:
        if len(args) < 2:
            log.warning("channel %s entered Stasis without (tenant, service) arguments: fallback", channel_id)
            await self._fallback(channel_id)
            return
        try:
            route = await self.directory.route(args[0], args[1])
        except UnknownRoute as exc:
            log.warning("channel %s: %s: fallback", channel_id, exc)
            await self._fallback(channel_id)
            return
        caller = await self.directory.identify(route, caller_number)
        call = CallSession(
            channel_id, route, caller, self.ari, self.directory, self.handoff, self.clock, resumed=resumed
        )
        self.calls[channel_id] = call
        task = asyncio.create_task(self._guard(call), name=f"call-{channel_id}")
        self.tasks[channel_id] = task

    async def _guard(self, call: CallSession) -> None:
        try:
            await call.run()
        finally:
            self.tasks.pop(call.channel_id, None)
            if self.calls.get(call.channel_id) is call and (call.state is None or call.state.outcome != IvrExit.QUEUE):
                self.calls.pop(call.channel_id, None)

    async def resync(self, node: str | None = None) -> int:
        """Take back the channels still in our Stasis app that no task owns, and end the calls whose channels
        left it meanwhile; returns how many were taken back. ``node``: that node's channels and calls only."""
        nodes = self.nodes if node is not None else None
        asked = self.clock()  # a call offered after this may be missing from the listings below: not judged
        try:
            app = await (nodes.node(node) if nodes and node else self.ari).applications.get(self.ari.app)
        except AriError as exc:
            log.warning("resync: cannot list the app's channels: %s", exc)
            return 0
        in_app = set(app.channel_ids)
        mine = [known for known in self.calls if nodes is None or nodes.node_of(known) == node]
        if nodes is not None and node is not None:
            nodes.learn_channels(node, app.channel_ids)
        for channel_id in [known for known in mine if known not in in_app]:
            # Gone while we were away (an Asterisk restart ends every call): no hang-up event will come, and
            # its interaction would stay open for ever.
            log.info("channel %s left while we were disconnected: ending its call", channel_id)
            await self.lanes.run(self.handoff.lane_of(channel_id), self._gone(channel_id))
        resumed = 0
        queued: list[tuple[str, str, str, str, QueuePoint]] = []
        for channel_id in app.channel_ids:
            if channel_id in self.calls or channel_id in self.tasks or self.supervision.owns(channel_id):
                continue
            if is_leg_snoop(channel_id):  # recording one party of a call: taken back with the call (acd_restart)
                continue
            try:
                channel = await self.ari.channels.get(channel_id)
                tenant = await self.ari.channels.get_variable(channel_id, "TVOXCC_TENANT")
                service = await self.ari.channels.get_variable(channel_id, "TVOXCC_SERVICE")
            except AriError:
                # hung up meanwhile, or not a call: a listen session's leg or snoop left by the previous run
                await self.supervision.take_back(channel_id)
                continue
            # The IVR's choices from its "queued" event; else (the kill came before that event was written) the
            # place the ACD's row holds: either way the ACD's row decides its place in line.
            point = await self.directory.queued_in(channel_id) or self.handoff.stored_point(channel_id)
            where = f" in queue {point.queue}" if point else ""
            log.info("resuming channel %s (%s/%s)%s", channel_id, tenant, service, where)
            if point is None:
                await self.begin(channel_id, channel.caller.number, (tenant, service), resumed=True)
            else:
                queued.append((channel_id, channel.caller.number, tenant, service, point))
            resumed += 1
        # Asterisk lists the channels in its own order, not the queue's: put them back oldest first, so each
        # gets its old position (and the first free agent the oldest) whatever the order of the list.
        for channel_id, number, tenant, service, point in sorted(queued, key=lambda c: _arrival(c[4])):
            await self._requeue(channel_id, number, tenant, service, point)
        await self._close_left_open(node, asked)
        return resumed

    async def _close_left_open(self, node: str | None, before: datetime) -> None:
        """Close the calls a previous run left open in the store though they are over (tvoxcc.voice.left_open):
        neither live on Asterisk (``node``'s, when several) nor held by the ACD or this app."""
        held = self.handoff.held_calls()
        if held is None:
            return
        client = self.nodes.node(node) if self.nodes is not None and node is not None else self.ari
        live = await live_channels(client)  # every channel: a call handed to the dialplan is live too
        if live is None:
            return
        held |= set(self.calls) | set(self.tasks)
        names = tuple(self.nodes.clients) if self.nodes is not None else ()
        calls = await self.directory.open_inbound_calls(before)
        now = self.clock()
        endings = left_open(calls, live, held, node=node, nodes=names)
        for ending in endings:
            call = ending.call
            log.info(
                "resync: call %s (interaction %d) ended while no service recorded it: closed as %s",
                call.channel_id, call.interaction_id, ending.outcome,
            )  # fmt: skip
            self.directory.recorder.close(
                InteractionRef.stored(call.tenant_id, call.interaction_id), now, ending.outcome
            )
        if endings:
            await self.directory.recorder.flush()  # stored before the service says it is ready

    async def _requeue(self, channel_id: str, number: str, tenant: str, service: str, point: QueuePoint) -> None:
        try:
            route = await self.directory.route(tenant, service)
        except UnknownRoute:
            await self._fallback(channel_id)
            return
        caller = await self.directory.identify(route, number)
        call = CallSession(channel_id, route, caller, self.ari, self.directory, self.handoff, self.clock, resumed=True)
        call.interaction = await self.directory.open_interaction(route, caller, channel_id, self.clock(), resumed=True)
        self.calls[channel_id] = call
        await self.handoff.enter(call, point.command(caller.info.language), resumed=point)  # as its IVR set it

    async def _fallback(self, channel_id: str) -> None:
        await send_to_fallback(self.ari, channel_id)
