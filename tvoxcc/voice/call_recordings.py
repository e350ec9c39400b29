"""Queue calls' recordings, from Asterisk to the recordings repository.

When the ACD starts recording a call's bridge it notes who, where and when (``started``). When Asterisk
says the recording finished (the bridge was destroyed at hang-up), the file is fetched over ARI, stored in
the repository with its row (tvoxcc.recordings.repository), and deleted from Asterisk: one copy, under
retention. If storing fails the file stays on Asterisk (named on the interaction) and the failure is logged.
A recording a previous run started is taken back after a restart (``take_back``, by the name it gave it:
``recording_name``): still live (the call talks on), it is stored when it finishes, as any other; finished
while no service ran (the call ended meanwhile), it is stored at once from Asterisk's stored recordings. The
paused stretches the previous run knew are not (the silence is not filled in).
The agent's ``*78`` / ``*79`` pause and resume it (payment data); the paused stretches come back as silence of
the same length (tvoxcc.recordings.pause) and are kept on the row. The desktop's "Pause recording" / "Resume
recording" (tvoxcc.recordings.requests) come here too (``desk_request``): the same pause, the same gaps.
A call of an on-demand queue is *armed* at answer, not recorded: the agent's ``*77`` starts its recording then
(once).
A queue with ``record_legs`` records each party apart too (``record_legs``): a snoop channel on the caller's and
on the agent's channel hears what that party says (spy ``in``) and is recorded to ``<name>-caller`` /
``<name>-agent``, stored with its own row (leg caller / agent) linked to the call when the snoop ends with the
call; ``*78`` / ``*79`` pause and resume them with the mixed one.
Asterisk does not always tell: a bridge recording's RecordingFinished goes to the apps subscribed to the bridge,
and the app's subscription ends with the bridge (BridgeDestroyed) — when the recorder finishes after that, or while
the events websocket reconnects, the event never comes. So when a call ends (``call_ended``) each of its
recordings is watched: still ours ``SETTLE_S`` later, it is looked up on Asterisk and stored from there (logged as
a warning: the event was lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from tvoxcc.ari import AriClient, AriError, Conflict
from tvoxcc.interactions import Direction
from tvoxcc.recordings.audio import NotAudio
from tvoxcc.recordings.crypto import RecordingKeyError
from tvoxcc.recordings.pause import FeatureCodes, PauseLog, RecordingAction, fill_gaps
from tvoxcc.recordings.policy import RecordedLeg
from tvoxcc.recordings.repository import RecordingMeta, Repository
from tvoxcc.store.engine import Store
from tvoxcc.voice.recorder import InteractionRef, Recorder

log = logging.getLogger(__name__)


SETTLE_S = 5.0  # how long after its call ended a recording's RecordingFinished is awaited before we look ourselves
SETTLE_LOOKS = 6  # a recording still live after its call ended is looked at this many times, SETTLE_S apart

LEG_RECORDING = "tvoxcc-leg-rec"  # the Stasis args of a snoop channel that records one party of a call


def leg_snoop(leg_name: str) -> str:
    """The channel id of the snoop recording one party (``<recording name>-<leg>``)."""
    return f"{leg_name}-snoop"


def is_leg_snoop(channel_id: str) -> bool:
    """Whether a channel is one of our parties' recording snoops (a restart keeps it: its recording goes on)."""
    return channel_id.startswith("tvoxcc-call-") and channel_id.endswith("-snoop")


def recording_name(caller_channel: str) -> str:
    """The ARI name of a queue call's bridge recording (Asterisk refuses dots in it)."""
    return f"tvoxcc-call-{caller_channel}".replace(".", "-")


@dataclass(frozen=True, slots=True)
class PendingRecording:
    tenant: str
    interaction: InteractionRef
    queue_id: int | None
    agent_id: int | None
    contact_id: int | None
    number: str
    started_at: datetime
    direction: str = Direction.INBOUND
    agent_channel: str | None = None  # the agent's leg: its *78 / *79 pause and resume the recording
    leg: RecordedLeg = RecordedLeg.MIXED


class CallRecordings:
    def __init__(self, ari: AriClient, store: Store, recorder: Recorder, repository: Repository | None) -> None:
        self.ari = ari
        self.store = store
        self.recorder = recorder
        self.repository = repository  # None: recordings stay on Asterisk, named on the interaction
        self.pending: dict[str, PendingRecording] = {}  # ARI recording name -> what it is of
        self.by_leg: dict[str, str] = {}  # agent leg channel -> its call's recording name
        self.codes: dict[str, FeatureCodes] = {}  # agent leg channel -> the digits it keyed
        self.pauses: dict[str, PauseLog] = {}  # recording name -> its paused stretches
        self.armed: dict[str, tuple[str, str, PendingRecording]] = {}  # agent leg -> (bridge, name, what) for *77
        self.apart: dict[str, list[str]] = {}  # a mixed recording's name -> its parties' recordings (record_legs)
        self.settling: dict[str, asyncio.Task[None]] = {}  # recording name -> its watch after its call ended

    def started(self, name: str, pending: PendingRecording) -> None:
        if self.repository is not None:
            self.pending[name] = pending
            self.pauses[name] = PauseLog()
            if pending.agent_channel is not None:
                self.by_leg[pending.agent_channel] = name
            log.info("voice: recording %s of interaction %s started", name, pending.interaction.id or "(unsaved)")

    def event(self, name: str, state: str, cause: str) -> None:
        """Asterisk says recording ``name`` finished or failed (logged: whose, and how it ended)."""
        whose = "ours" if name in self.pending else "not ours"
        log.info("voice: recording %s %s%s (%s)", name, state or "finished", f": {cause}" if cause else "", whose)

    def call_ended(self, name: str, clock: Callable[[], datetime]) -> None:
        """The call recorded as ``name`` ended (its bridge destroyed): its recordings (the mixed one and its
        parties') should finish now; each still ours ``SETTLE_S`` later is looked up on Asterisk (``settle``)."""
        for each in [name, *self.apart.get(name, ())]:
            if each in self.pending and each not in self.settling:
                self.settling[each] = asyncio.create_task(self._settle(each, clock), name=f"settle-{each}")

    async def _settle(self, name: str, clock: Callable[[], datetime]) -> None:
        try:
            for _ in range(SETTLE_LOOKS):
                await asyncio.sleep(SETTLE_S)
                if name not in self.pending or not await self._live(name):
                    break
                log.info("voice: recording %s still live %.0f s after its call ended", name, SETTLE_S)
            if name in self.pending:
                await self.settle(name, clock())
        except Exception:  # a watch must never take the service down; the recording stays on Asterisk
            log.exception("voice: watching recording %s failed", name)
        finally:
            self.settling.pop(name, None)

    async def settle(self, name: str, now: datetime) -> int | None:
        """No RecordingFinished came for ``name`` after its call ended: stored from Asterisk's stored recordings
        when it is there (the event was lost), else dropped (Asterisk has nothing to give). Its id, or None."""
        if name not in self.pending:  # the event came meanwhile
            return None
        try:
            await self.ari.recordings.get_stored(name)
        except AriError as exc:
            if name not in self.pending:
                return None
            if await self._live(name):
                log.warning("voice: recording %s still live on Asterisk long after its call ended: left to it", name)
            else:
                self.finish_without(name)
                log.warning("voice: recording %s: no RecordingFinished and no stored file on Asterisk (%s)", name, exc)
            return None
        if name not in self.pending:
            return None
        log.warning("voice: recording %s: no RecordingFinished from Asterisk after its call ended: storing it", name)
        return await self.finished(name, now)

    def finish_without(self, name: str) -> None:
        """Forget recording ``name`` without storing anything."""
        self.apart.pop(name, None)
        self.pauses.pop(name, None)
        pending = self.pending.pop(name, None)
        if pending is not None and pending.agent_channel is not None:
            self.by_leg.pop(pending.agent_channel, None)
            self.codes.pop(pending.agent_channel, None)

    async def close(self) -> None:
        """Stop watching: recordings still ours stay on Asterisk (a next run takes them back: ``take_back``)."""
        for task in list(self.settling.values()):
            task.cancel()
        await asyncio.gather(*self.settling.values(), return_exceptions=True)
        self.settling.clear()

    async def record_legs(self, name: str, parties: dict[RecordedLeg, str], pending: PendingRecording) -> None:
        """Each party of the call ``name`` records, alone: a snoop on its channel hearing what it says, recorded
        as ``<name>-<leg>``. A party that cannot be snooped (hung up meanwhile) is logged and skipped."""
        if self.repository is None:
            return
        for leg, channel in parties.items():
            leg_name = f"{name}-{leg}"
            try:
                snoop = await self.ari.channels.snoop(
                    channel, spy="in", app_args=LEG_RECORDING, snoop_id=leg_snoop(leg_name)
                )
                await self._record_snoop(snoop.id, leg_name)
            except AriError as exc:
                log.warning("voice: cannot record the %s of %s apart: %s", leg, name, exc)
                continue
            self.started(leg_name, replace(pending, leg=leg, agent_channel=None))
            self.apart.setdefault(name, []).append(leg_name)

    async def _record_snoop(self, snoop_id: str, name: str, attempts: int = 40) -> None:
        """Record a new snoop channel: it enters our Stasis app a moment after it is made, and until then Asterisk
        answers 409 "Channel not in Stasis application"; retried briefly."""
        for attempt in range(attempts):
            try:
                await self.ari.channels.record(snoop_id, name, format="wav", if_exists="overwrite")
                return
            except Conflict:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.05)

    def owns(self, name: str) -> bool:
        return name in self.pending

    def owns_leg(self, channel_id: str) -> bool:
        return channel_id in self.by_leg or channel_id in self.armed

    def arm(self, bridge_id: str, name: str, pending: PendingRecording) -> None:
        """An on-demand queue's call: the agent's ``*77`` will record ``bridge_id`` as ``name``."""
        if self.repository is not None and pending.agent_channel is not None:
            self.armed[pending.agent_channel] = (bridge_id, name, pending)

    def disarm(self, channel_id: str) -> None:
        """The agent's leg ended without a ``*77``."""
        self.armed.pop(channel_id, None)
        if channel_id not in self.by_leg:
            self.codes.pop(channel_id, None)

    async def _start_on_demand(self, channel_id: str, now: datetime) -> None:
        bridge_id, name, pending = self.armed.pop(channel_id)
        try:
            await self.ari.bridges.record(bridge_id, name, format="wav", if_exists="overwrite")
        except AriError as exc:  # the call ended meanwhile
            log.info("voice: recording %s on demand refused: %s", name, exc)
            return
        self.started(name, replace(pending, started_at=now))
        self.recorder.update(pending.interaction, recording=name)  # the journey shows the call recorded
        log.info("voice: recording %s started on demand (agent's *77)", name)

    async def take_back(self, name: str, pending: PendingRecording, now: datetime) -> bool:
        """A recording a previous run started, after a restart: live on Asterisk, ours again (stored when it
        finishes); finished already, stored now. False when Asterisk has neither (or no repository is set)."""
        if self.repository is None:
            return False
        if await self._live(name):
            self.started(name, pending)
            if await self._live(name):  # else it finished between the two looks: its event may have gone by
                log.info("voice: recording %s taken back after a restart (still recording)", name)
                return True
        try:
            await self.ari.recordings.get_stored(name)
        except AriError:
            self.finish_without(name)  # watched since the first look: its pause log and agent leg go with it
            log.debug("voice: no recording %s on Asterisk (live or stored) to take back", name)
            return False
        self.started(name, pending)
        log.info("voice: recording %s finished while no service ran: storing it", name)
        await self.finished(name, now)
        return True

    async def _live(self, name: str) -> bool:
        try:
            live = await self.ari.recordings.get_live(name)
        except AriError:
            return False
        return live.state in ("queued", "recording", "paused")

    def _offset(self, name: str, now: datetime) -> float:
        return (now - self.pending[name].started_at).total_seconds()

    async def dtmf(self, channel_id: str, digit: str, keyed_at: datetime | None, now: datetime) -> None:
        """A digit from an agent's leg: ``*78`` pauses its call's recording, ``*79`` resumes it. ``keyed_at`` is
        Asterisk's time of the event: the same digit event comes once per subscription (the channel's and its
        endpoint's, which presence follows) and counts once."""
        action = self.codes.setdefault(channel_id, FeatureCodes()).feed(digit, (keyed_at or now).timestamp())
        if action is RecordingAction.START and channel_id in self.armed:
            await self._start_on_demand(channel_id, now)
            return
        name = self.by_leg.get(channel_id)
        if name is not None and name in self.pending:
            await self._pause_or_resume_call(name, action, now, "agent's feature code")

    async def desk_request(self, tenant_id: int, agent_id: int, action: RecordingAction, now: datetime) -> bool:
        """The agent's "Pause recording" / "Resume recording" from the desktop (tvoxcc.recordings.requests): the
        same as their ``*78`` / ``*79`` on the call recorded with their leg. False when they have none here."""
        for name, pending in list(self.pending.items()):
            mine = pending.interaction.tenant_id == tenant_id and pending.agent_id == agent_id
            if mine and pending.agent_channel is not None and pending.agent_channel in self.by_leg:
                await self._pause_or_resume_call(name, action, now, "agent's desktop")
                return True
        return False

    async def _pause_or_resume_call(self, name: str, action: RecordingAction | None, now: datetime, why: str) -> None:
        for each in [name, *self.apart.get(name, ())]:  # the parties' recordings hold the payment data too
            if each in self.pending and not await self._pause_or_resume(each, action, now):
                return
        if action in (RecordingAction.PAUSE, RecordingAction.RESUME):
            offset = self._offset(name, now)
            log.info("voice: recording %s %s at %.1f s (%s)", name, action, offset, why)

    async def _pause_or_resume(self, name: str, action: RecordingAction | None, now: datetime) -> bool:
        """False when Asterisk refused (the call ended meanwhile: its recording is finishing anyway)."""
        pauses, offset = self.pauses[name], self._offset(name, now)
        try:
            if action is RecordingAction.PAUSE and pauses.paused_at is None:
                await self.ari.recordings.pause_live(name)
                pauses.pause(offset)
            elif action is RecordingAction.RESUME and pauses.paused_at is not None:
                await self.ari.recordings.unpause_live(name)
                pauses.resume(offset)
        except AriError as exc:
            log.info("voice: recording %s: %s refused: %s", name, action, exc)
            return False
        return True

    async def finished(self, name: str, now: datetime) -> int | None:
        """Move a finished recording into the repository; its id, or None when it stays on Asterisk."""
        pending = self.pending.get(name)
        pauses = self.pauses.get(name, PauseLog())
        self.finish_without(name)
        if pending is None or self.repository is None:
            return None
        gaps = pauses.close((now - pending.started_at).total_seconds())
        try:
            audio = fill_gaps(await self.ari.recordings.stored_file(name), gaps)
            if pending.interaction.id is None:
                await self.recorder.flush()  # the interaction's row, so the recording can name it
            meta = RecordingMeta(
                tenant_id=pending.interaction.tenant_id,
                started_at=pending.started_at,
                interaction_id=pending.interaction.id,
                queue_id=pending.queue_id,
                agent_id=pending.agent_id,
                contact_id=pending.contact_id,
                number=pending.number,
                direction=pending.direction,
                gaps=gaps,
                leg=pending.leg,
            )
            recording_id = await self.repository.store(self.store, pending.tenant, meta, audio)
        except (AriError, NotAudio, RecordingKeyError, OSError, SQLAlchemyError) as exc:
            log.warning("voice: recording %s kept on Asterisk, not stored: %s: %s", name, type(exc).__name__, exc)
            return None
        with contextlib.suppress(AriError):
            await self.ari.recordings.delete_stored(name)
        log.info("voice: recording %s stored as recording %d", name, recording_id)
        return recording_id
