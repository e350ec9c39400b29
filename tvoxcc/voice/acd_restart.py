"""The voice ACD after a (re)start: the embedded ACD restored from its rows, the calls Asterisk kept taken back.

``voice run`` takes the ACD's lease first (another ACD routing: it waits as a standby, and says so), then the
ACD rebuilds its router from the acd_* rows (tvoxcc.acd.AcdService.start): every waiting caller keeps its
place (priority, time entered, arrival sequence), agents their login, pause code, wrap-up end and items in
hand; offers in flight are cancelled (their agent legs may still ring: hung up below). An agent's answer
waits up to the ACD's linger to be committed, so a row may still say "offered" for a caller already talking:
Asterisk's bridges decide (``_answers_in_asterisk``), and a caller found in its call bridge with a leg of an
agent it was offered to is restored as connected to that agent.

On the first connection to Asterisk the calls are matched with the rows:
- a caller channel still in our Stasis app whose item is stored (the app's resync finds it, its IVR's
  choices from its ``queued`` event, else from the row) waits again in its queue's holding bridge at the
  place the row gives; one that was talking keeps its bridge and agent leg (``_resume``);
- a stored voice item whose caller channel is gone is abandoned and its interaction closed; a stored callback
  the callback book no longer holds leaves the line (a call whose interaction is open though the ACD holds no
  item of it any more, its end lost to the kill, is closed by the app's resync: tvoxcc.voice.left_open);
- a connected call's bridge recording (named after its caller: ``call_recordings.recording_name``) is taken back:
  still live, the app subscribes to its bridge (a new process gets no event of it otherwise) and stores it when
  the call ends; finished while no service ran, it is stored from Asterisk's stored recordings at once;
- agent legs nobody tracks (ringing for a cancelled offer, or answered while no service ran) are hung up;
- then the commands the ACD released meanwhile (new offers to the freed agents…) are carried out.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace
from datetime import UTC, datetime

from tvoxcc.acd import NotRouting, load
from tvoxcc.acd.rows import Answer
from tvoxcc.ari import AriError
from tvoxcc.interactions import Outcome
from tvoxcc.ivr.commands import EnterQueue
from tvoxcc.queues import model as q
from tvoxcc.queues.views import ItemView
from tvoxcc.recordings.policy import RecordedLeg
from tvoxcc.voice.acd_base import AGENT_LEG, Leg, Waiting
from tvoxcc.voice.acd_config import QueueKey
from tvoxcc.voice.acd_holding import AcdHolding
from tvoxcc.voice.call import CallSession
from tvoxcc.voice.call_recordings import PendingRecording, leg_snoop, recording_name
from tvoxcc.voice.directory import QueuePoint
from tvoxcc.voice.reconnect import live_channels
from tvoxcc.voice.recorder import InteractionRef

log = logging.getLogger(__name__)

CALL_BRIDGE = "tvoxcc-call-"  # a connected call's mixing bridge is named after its caller's channel


class AcdRestart(AcdHolding):
    """Taking the lease, and taking back the calls a previous run left."""

    async def _start_acd(self) -> None:
        """The lease (a standby waits for it), then the router restored from the rows."""
        self.service.answers = self._answers_in_asterisk
        if not await self.service.start(wait=False):
            lease = (await load(self.acd.store)).lease or {}
            log.warning(
                "ACD: another ACD routes (%s, pid %s, since %s): voice run waits as a standby",
                lease.get("host"), lease.get("pid"), lease.get("since"),
            )  # fmt: skip
            await self.service.start(wait=True)
        view = self.service.view()
        cancelled = sum(isinstance(c, q.CancelOffer) for c in self.service.restored.commands)
        log.info(
            "ACD: routing (%s); restored %d item(s), %d agent(s) from the store, %d offer(s) in flight cancelled",
            self.service.lease.holder, len(view.items), len(view.agents), cancelled,
        )  # fmt: skip

    async def _answers_in_asterisk(self) -> dict[str, Answer]:
        """Caller channel (= item id) -> (agent, since when) for every call bridge holding a caller and an agent
        leg we originated (``PJSIP/<agent>-<n>``); none when Asterisk cannot say (the rows are trusted then)."""
        try:
            bridges, channels = await self.ari.bridges.list(), await self.ari.channels.list()
        except AriError as exc:
            log.warning("ACD: cannot read Asterisk's bridges before restoring: %s", exc)
            return {}
        agent_of = {c.id: c.name.removeprefix("PJSIP/").rpartition("-")[0] for c in channels}
        answers = {}
        for bridge in bridges:
            caller = bridge.name.removeprefix(CALL_BRIDGE)
            if not bridge.name.startswith(CALL_BRIDGE) or caller not in bridge.channels:
                continue
            leg = next((c for c in bridge.channels if c.startswith(AGENT_LEG) and c in agent_of), None)
            if leg is not None:
                since = bridge.creationtime.timestamp() if bridge.creationtime else self.service.clock()
                answers[caller] = (agent_of[leg], since)
        return answers

    def stored_point(self, channel_id: str) -> QueuePoint | None:
        """Where the stored ACD holds this caller (its row), for a call whose ``queued`` event is missing."""
        item = self._stored(channel_id)
        if item is None or item.channel is not q.Channel.VOICE:
            return None
        skills = tuple(sorted(item.skills.items()))
        return QueuePoint(item.queue.split("/", 1)[-1], 0, item.arrived_at, item.queued_at, skills)

    def held_calls(self) -> set[str] | None:
        try:
            stored = self.service.view().items
        except NotRouting:
            return None
        return set(stored) | set(self.items) | {leg.item_id for leg in self.legs.values()}

    def _stored(self, item_id: str) -> ItemView | None:
        try:
            return self.service.item_view(item_id)
        except NotRouting:
            return None

    async def _resume(self, call: CallSession, command: EnterQueue, item: ItemView, point: QueuePoint) -> None:
        """A caller the restored ACD holds: back where it was (its row), not queued again; its ``queued``
        event again (``point``, what its IVR chose), for the next restart."""
        key = QueueKey(call.route.tenant, item.queue.split("/", 1)[-1])  # where it is now (after an overflow)
        if item.status is q.ItemStatus.CONNECTED:
            await self._resume_connected(call, key, item)
            return
        try:
            bridge_id = await self._hold(key, call.channel_id)
        except AriError as exc:
            log.warning("ACD: call %s cannot wait in %s again: %s; fallback", call.channel_id, key.router_name, exc)
            self.items[call.channel_id] = Waiting(call, key, "")
            self._apply(lambda: self.service.abandon(item.item_id))
            self.items.pop(call.channel_id, None)
            await self._fallback(call.channel_id)
            await call.directory.close(call.route, call.interaction, call.clock(), Outcome.FALLBACK)
            return
        await self._wait_in(call, key, bridge_id, command.language, point)
        log.info("ACD: call %s waits again in %s (%s)", call.channel_id, key.router_name, item.status)

    async def _resume_connected(self, call: CallSession, key: QueueKey, item: ItemView) -> None:
        """A caller that was talking: its bridge and the agent's leg are kept; gone, the talk is over."""
        bridge = None
        with contextlib.suppress(AriError):
            bridge = next((b for b in await self.ari.bridges.list() if b.name == CALL_BRIDGE + call.channel_id), None)
        leg_id = next((c for c in bridge.channels if c != call.channel_id), None) if bridge else None
        waiting = Waiting(call, key, "", bridge.id if bridge else None, float("inf"), connecting=True)
        self.items[call.channel_id] = waiting
        if bridge is None or leg_id is None or item.agent_id is None:
            if bridge is not None:  # its recording finishes as the bridge goes: into the repository
                since = bridge.creationtime or self.clock()
                await self._take_back_recording(item, call.interaction, since, None, bridge.id)
            self._apply(lambda: self.service.complete(item.item_id))  # the agent hung up while we were away
            self.items.pop(call.channel_id, None)
            await self._destroy(waiting.bridge_id, call.channel_id)
            await self._hangup(call.channel_id)
            await call.directory.close(call.route, call.interaction, call.clock(), Outcome.ANSWERED)
            return
        leg = Leg(leg_id, item.item_id, item.agent_id, answered=True)
        self.legs[leg_id] = waiting.legs[item.agent_id] = leg
        log.info("ACD: call %s still talks to %s", call.channel_id, item.agent_id)
        since = bridge.creationtime or self.clock()  # the answer: when a recording at answer started
        await self._take_back_recording(item, call.interaction, since, leg_id, bridge.id)

    async def _take_back_recording(
        self, item: ItemView, interaction: InteractionRef, since: datetime, agent_leg: str | None, bridge_id: str | None
    ) -> None:
        """The recording a previous run made of a connected call, found on Asterisk by the name it gave it, into
        the repository when the call ends (or now, when it ended while no service ran). The name is looked for
        even when the call's row does not have it: the answer that set it may not have been committed."""
        row = await self.directory.stored_call(interaction)
        if row is None:
            return
        name = recording_name(item.item_id)
        legs = {leg: f"{name}-{leg}" for leg in (RecordedLeg.CALLER, RecordedLeg.AGENT)}
        # A recording's events come to the apps subscribed to what it records: not to a new process.
        sources = [f"bridge:{bridge_id}"] if bridge_id is not None else []
        with contextlib.suppress(AriError):
            live = {c.id for c in await self.ari.channels.list()}
            sources += [f"channel:{leg_snoop(n)}" for n in legs.values() if leg_snoop(n) in live]
        if sources:
            with contextlib.suppress(AriError):
                await self.ari.applications.subscribe(self.ari.app, sources)
        started = row.answered_at or since
        pending = PendingRecording(
            item.queue.split("/", 1)[0], interaction, row.queue_id, row.agent_id, row.contact_id,
            row.from_address or "", started.replace(tzinfo=started.tzinfo or UTC), agent_channel=agent_leg,
        )  # fmt: skip
        found = await self.call_recordings.take_back(name, pending, self.clock())
        for leg, leg_name in legs.items():  # each party's own (a queue's record_legs), if it had them
            if await self.call_recordings.take_back(
                leg_name, replace(pending, leg=leg, agent_channel=None), self.clock()
            ):
                self.call_recordings.apart.setdefault(name, []).append(leg_name)
        if found and row.recording is None:
            self.directory.recorder.update(pending.interaction, recording=name)  # the journey shows it recorded

    async def _reconcile(self) -> None:
        """Once, at the first connection after a start: the stored items nobody took back, stale agent legs,
        then the commands held until now."""
        if self._held is None:
            return
        try:
            stored = self.service.view().items.values()
        except NotRouting:
            return
        for item in stored:
            if item.item_id in self.items or item.item_id in self.callbacks:
                continue
            if item.channel is q.Channel.VOICE:
                await self._caller_gone(item)
            elif item.channel is q.Channel.CALLBACK:
                log.info("ACD: callback %s is no longer requested: it leaves the line", item.item_id)
                self._end(item)
        live = await live_channels(self.ari)
        for channel_id in sorted(live or ()):
            if channel_id.startswith(AGENT_LEG) and channel_id not in self.legs:
                log.info("ACD: agent leg %s was left by a previous run: hanging up", channel_id)
                await self._hangup(channel_id)
        self._release_held()

    async def _caller_gone(self, item: ItemView) -> None:
        interaction = await self.directory.open_call(item.item_id)
        if interaction is not None:
            self._orphans[item.item_id] = interaction
            if item.status is q.ItemStatus.CONNECTED:
                bridge_id = await self._call_bridge(item.item_id)
                await self._take_back_recording(item, interaction, self.clock(), None, bridge_id)
                await self._destroy(bridge_id)  # its recording, running into an empty bridge, finishes
        log.info("ACD: caller %s left while no service ran (%s): %s", item.item_id, item.queue, item.status)
        self._end(item)
        self._orphans.pop(item.item_id, None)
        if interaction is not None:
            outcome = Outcome.ANSWERED if item.status is q.ItemStatus.CONNECTED else Outcome.ABANDONED
            self.directory.recorder.close(interaction, self.clock(), outcome)

    async def _call_bridge(self, caller: str) -> str | None:
        """The id of a call's bridge still in Asterisk, if any."""
        with contextlib.suppress(AriError):
            return next((b.id for b in await self.ari.bridges.list() if b.name == CALL_BRIDGE + caller), None)
        return None

    def _end(self, item: ItemView) -> None:
        if item.status is q.ItemStatus.CONNECTED:
            self._apply(lambda: self.service.complete(item.item_id, by_caller=True))
        else:
            self._apply(lambda: self.service.abandon(item.item_id))
