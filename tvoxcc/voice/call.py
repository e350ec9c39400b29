"""One inbound call: its own task, its own event queue, the IVR interpreter's state, and the ARI calls.

The interpreter decides; this file only executes its commands and turns ARI events into IVR events.
A failure here ends this call (handed to the dialplan fallback when the channel still exists) and never
touches another call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from tvoxcc.ari import AriClient, AriError, NotFound
from tvoxcc.interactions import InteractionEventKind as Kind
from tvoxcc.interactions import Outcome
from tvoxcc.ivr import commands as c
from tvoxcc.ivr.events import CallerHungUp, IvrEvent, TimerFired
from tvoxcc.ivr.interpreter import IvrPhase, IvrState, handle, start
from tvoxcc.ivr.nodes import Flow
from tvoxcc.ivr.prompts import media_for
from tvoxcc.voice.directory import Caller, Directory, Route
from tvoxcc.voice.handoff import QueueHandoff
from tvoxcc.voice.recorder import InteractionRef

log = logging.getLogger(__name__)

FALLBACK_CONTEXT = "tvoxcc-fallback"
# How the IVR let go of a call -> how its interaction ends (the queue closes a queued one itself).
IVR_EXIT_OUTCOME: dict[c.IvrExit, Outcome] = {
    c.IvrExit.QUEUE: Outcome.QUEUED,
    c.IvrExit.TRANSFER: Outcome.TRANSFER,
    c.IvrExit.CALLBACK: Outcome.CALLBACK,
    c.IvrExit.VOICEMAIL: Outcome.VOICEMAIL,
    c.IvrExit.HANGUP: Outcome.HANGUP,
    c.IvrExit.LOOP_GUARD: Outcome.LOOP_GUARD,
    c.IvrExit.CALLER_HANGUP: Outcome.ABANDONED_IN_IVR,
}


async def send_to_fallback(ari: AriClient, channel_id: str) -> None:
    """Never leave a caller in silence: the dialplan fallback plays a message (see dialplan/)."""
    with contextlib.suppress(AriError):
        await ari.channels.continue_in_dialplan(channel_id, context=FALLBACK_CONTEXT, extension="s", priority=1)


@dataclass
class CallSession:
    channel_id: str
    route: Route
    caller: Caller
    ari: AriClient
    directory: Directory
    handoff: QueueHandoff
    clock: Callable[[], datetime]
    resumed: bool = False
    # Replaced by ``run`` (or whoever opens the call's interaction); until then events go to no interaction.
    interaction: InteractionRef = field(init=False)
    state: IvrState | None = None
    events: asyncio.Queue[IvrEvent] = field(default_factory=asyncio.Queue)
    timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    recordings: dict[str, str] = field(default_factory=dict)  # ARI recording name -> IVR token
    ended: bool = False
    flow: Flow | None = None  # the flow run instead of the service's IVR (a queue's voicemail overflow)
    start_node: str | None = None  # where the IVR starts when not at the top (a queue's IVR overflow)

    def __post_init__(self) -> None:
        self.interaction = InteractionRef(self.route.tenant_id)

    def playback_id(self, token: str) -> str:
        # Unique across calls; the IVR token is the part after the last ':'.
        return f"{self.channel_id}:{token}"

    @staticmethod
    def token_of(playback_id: str) -> str:
        return playback_id.rsplit(":", 1)[-1]

    def feed(self, event: IvrEvent) -> None:
        self.events.put_nowait(event)

    async def run(self) -> None:
        now = self.clock()
        self.interaction = await self.directory.open_interaction(
            self.route, self.caller, self.channel_id, now, resumed=self.resumed
        )
        await self._serve()

    async def continue_at(self, node: str, flow: Flow | None = None) -> None:
        """A queued call handed back to the IVR at ``node`` (of ``flow``, else the service's), same interaction."""
        while not self.events.empty():
            self.events.get_nowait()  # digits and playbacks heard in the queue are not IVR input
        self.flow, self.start_node, self.state = flow, node, None
        await self._serve()

    async def _serve(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("call %s failed; handing it to the dialplan fallback", self.channel_id)
            await self._fallback()
        finally:
            for handle_ in self.timers.values():
                handle_.cancel()
            # Once queued, the queue owns the call and closes its interaction.
            done = self.state is not None and self.state.phase == IvrPhase.DONE
            if self.ended or (done and self.state is not None and self.state.outcome != c.IvrExit.QUEUE):
                await self.directory.close(self.route, self.interaction, self.clock(), self._outcome())

    def _outcome(self) -> Outcome:
        if self.state is None or self.state.outcome is None:
            return Outcome.ABANDONED_IN_IVR
        return IVR_EXIT_OUTCOME[self.state.outcome]

    async def _run(self) -> None:
        flow = self.flow or self.route.flow
        if flow is None:
            log.warning("service %s/%s has no IVR: fallback", self.route.tenant, self.route.service)
            await self._fallback()
            return
        self.state, commands = start(flow, self.caller.info, self.clock(), at=self.start_node)
        if self.resumed:
            commands = [cmd for cmd in commands if not isinstance(cmd, c.Answer)]
        await self._execute(commands)
        while self.state.phase != IvrPhase.DONE:
            event = await self.events.get()
            self.state, commands = handle(flow, self.caller.info, self.state, event, self.clock())
            await self._execute(commands)
            if isinstance(event, CallerHungUp):
                self.ended = True
                return

    async def _execute(self, commands: list[c.Command]) -> None:
        for command in commands:
            if self.ended:
                return
            try:
                await self._do(command)
            except NotFound:
                # The channel (or a playback) is already gone: the hang-up event follows.
                log.info("call %s: %s on a gone channel", self.channel_id, type(command).__name__)

    async def _do(self, command: c.Command) -> None:
        ari, route, now = self.ari, self.route, self.clock()
        match command:
            case c.Answer():
                await ari.channels.answer(self.channel_id)
            case c.Play(playback_id=token, prompts=prompts, language=language):
                media = [media_for(p, route.tenant, language, route.prompts) for p in prompts]
                await ari.channels.play(self.channel_id, media, lang=language, playback_id=self.playback_id(token))
            case c.StopPlayback(playback_id=token):
                with contextlib.suppress(NotFound):
                    await ari.playbacks.stop(self.playback_id(token))
            case c.StartTimer(token=token, seconds=seconds):
                loop = asyncio.get_running_loop()
                self.timers[token] = loop.call_later(seconds, self.feed, TimerFired(token))
            case c.CancelTimer(token=token):
                timer = self.timers.pop(token, None)
                if timer is not None:
                    timer.cancel()
            case c.Record(name=token, max_seconds=seconds):
                name = f"tvoxcc-vm-{self.channel_id}-{token}".replace(".", "-")
                self.recordings[name] = token
                await ari.channels.record(
                    self.channel_id,
                    name,
                    max_duration_seconds=seconds,
                    beep=True,
                    terminate_on="#",
                    if_exists="overwrite",
                )
            case c.Note(kind=kind, data=data):
                await self.directory.log(route, self.interaction, kind, now, data)
            case c.EnterQueue():
                await self.directory.set_outcome(route, self.interaction, Outcome.QUEUED)
                await self.handoff.enter(self, command)
            case c.TransferTo(destination=destination):
                await self.directory.set_outcome(route, self.interaction, Outcome.TRANSFERRED)
                await self.directory.recorder.flush()  # the dialplan's AGI (a survey, a lookup) may read it
                await ari.channels.continue_in_dialplan(
                    self.channel_id, context=f"tvoxcc-agents-{route.tenant}", extension=destination, priority=1
                )
            case c.CallbackRequest(queue=queue, number=number):
                await self.directory.request_callback(route, self.interaction, queue, number, now)
            case c.VoicemailTicket(recording=token, duration_seconds=seconds, caller=caller):
                name = next(n for n, t in self.recordings.items() if t == token)
                audio = await ari.recordings.stored_file(name)
                ticket = await self.directory.voicemail_ticket(route, self.interaction, caller, audio, seconds, now)
                await self.directory.log(route, self.interaction, Kind.VOICEMAIL_TICKET, now, {"ticket": ticket})
                with contextlib.suppress(AriError):
                    await ari.recordings.delete_stored(name)
            case c.HangupCall():
                with contextlib.suppress(NotFound):
                    await ari.channels.hangup(self.channel_id)

    async def _fallback(self) -> None:
        await send_to_fallback(self.ari, self.channel_id)
