"""The Stasis application: ARI events in, one CallSession task per channel.

After every (re)connect it asks Asterisk which channels are in the app and resumes those it does not
know (the service was restarted or killed): their IVR starts again from the top on the same interaction,
and a call that was already queued goes back to its queue. Nobody is hung up by us and nobody is left in
silence; callers who arrived while the service was down were served by the dialplan fallback. Calls it
knows whose channels left the app meanwhile (Asterisk restarted) are ended, so no interaction stays open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tvoxcc.ari import AriClient, AriError, Connected, Disconnected, StreamItem
from tvoxcc.ari import events as ev
from tvoxcc.ivr import events as ivr
from tvoxcc.ivr.commands import EnterQueue
from tvoxcc.voice.acd import AcdQueue
from tvoxcc.voice.acd_config import AcdDirectory
from tvoxcc.voice.call import CallSession, send_to_fallback
from tvoxcc.voice.directory import Directory, UnknownRoute
from tvoxcc.voice.handoff import QueueHandoff

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class VoiceApp:
    def __init__(
        self,
        ari: AriClient,
        directory: Directory,
        *,
        handoff: QueueHandoff | None = None,
        clock: Callable[[], datetime] = utc_now,
        queue_log: Path | None = None,
    ) -> None:
        self.ari = ari
        self.directory = directory
        self.clock = clock
        self.handoff = handoff or AcdQueue(ari, AcdDirectory(directory.store), clock, queue_log=queue_log)
        self.calls: dict[str, CallSession] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.ready = asyncio.Event()  # set once connected and resynchronised

    async def run(self) -> None:
        await self.handoff.start()
        stream = self.ari.events()
        try:
            async for item in stream:
                try:
                    await self.dispatch(item)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # One event's failure (one call's) must never stop the service for every other call.
                    log.exception("voice: handling %s failed", type(item).__name__)
        finally:
            await stream.close()
            for task in self.tasks.values():
                task.cancel()
            await self.handoff.close()

    async def dispatch(self, item: StreamItem) -> None:
        match item:
            case Connected():
                resumed = await self.resync()
                await self.handoff.on_connected()
                self.ready.set()
                log.info("voice service ready (app %s, %d call(s) resumed)", self.ari.app, resumed)
            case Disconnected():
                self.ready.clear()
            case ev.StasisStart(channel=channel, args=args):
                if await self.handoff.on_stasis_start(channel.id, args):
                    return
                if channel.id not in self.calls:
                    await self.begin(channel.id, channel.caller.number, args)
            case ev.EndpointStateChange(endpoint=endpoint):
                await self.handoff.on_endpoint(endpoint.resource, endpoint.state)
            case ev.ChannelDtmfReceived(channel=channel, digit=digit):
                self._feed(channel.id, ivr.Dtmf(digit))
            case ev.PlaybackFinished(playback=playback):
                channel_id = playback.id.rpartition(":")[0]
                self._feed(channel_id, ivr.PlaybackDone(CallSession.token_of(playback.id)))
            case ev.RecordingFinished(recording=recording) | ev.RecordingFailed(recording=recording):
                self._recording_done(recording.name, float(recording.duration))
            case ev.StasisEnd(channel=channel) | ev.ChannelDestroyed(channel=channel):
                await self._gone(channel.id)
            case _:
                pass

    def _feed(self, channel_id: str, event: ivr.IvrEvent) -> None:
        call = self.calls.get(channel_id)
        if call is not None:
            call.feed(event)

    def _recording_done(self, name: str, seconds: float) -> None:
        for call in self.calls.values():
            token = call.recordings.get(name)
            if token is not None:
                call.feed(ivr.RecordingDone(token, seconds))

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
            if self.calls.get(call.channel_id) is call and (call.state is None or call.state.outcome != "queue"):
                self.calls.pop(call.channel_id, None)

    async def resync(self) -> int:
        """Take back the channels still in our Stasis app that no task owns, and end the calls whose channels
        left it meanwhile; returns how many were taken back."""
        try:
            app = await self.ari.applications.get(self.ari.app)
        except AriError as exc:
            log.warning("resync: cannot list the app's channels: %s", exc)
            return 0
        in_app = set(app.channel_ids)
        for channel_id in [known for known in self.calls if known not in in_app]:
            # Gone while we were away (an Asterisk restart ends every call): no hang-up event will come, and
            # its interaction would stay open for ever.
            log.info("channel %s left while we were disconnected: ending its call", channel_id)
            await self._gone(channel_id)
        resumed = 0
        for channel_id in app.channel_ids:
            if channel_id in self.calls or channel_id in self.tasks:
                continue
            try:
                channel = await self.ari.channels.get(channel_id)
                tenant = await self.ari.channels.get_variable(channel_id, "TVOXCC_TENANT")
                service = await self.ari.channels.get_variable(channel_id, "TVOXCC_SERVICE")
            except AriError:
                continue  # hung up meanwhile
            queue = await self.directory.queued_in(channel_id)
            log.info(
                "resuming channel %s (%s/%s)%s", channel_id, tenant, service, f" in queue {queue}" if queue else ""
            )
            if queue is None:
                await self.begin(channel_id, channel.caller.number, (tenant, service), resumed=True)
            else:
                await self._requeue(channel_id, channel.caller.number, tenant, service, queue)
            resumed += 1
        return resumed

    async def _requeue(self, channel_id: str, number: str, tenant: str, service: str, queue: str) -> None:
        try:
            route = await self.directory.route(tenant, service)
        except UnknownRoute:
            await self._fallback(channel_id)
            return
        caller = await self.directory.identify(route, number)
        call = CallSession(channel_id, route, caller, self.ari, self.directory, self.handoff, self.clock, resumed=True)
        call.interaction_id = await self.directory.open_interaction(route, caller, channel_id, self.clock())
        self.calls[channel_id] = call
        await self.handoff.enter(call, EnterQueue(queue, 0, (), (), caller.info.language))

    async def _fallback(self, channel_id: str) -> None:
        await send_to_fallback(self.ari, channel_id)
