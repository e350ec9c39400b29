"""Agents' own calls on Asterisk (ARI): ``9`` + number from the phone, click-to-call from the desktop.

The agent's phone dials the tenant's prefix and a number; the rendered dialplan hands the channel to our Stasis
app with (tenant, agent, number) — through Stasis rather than a plain Dial() so the one ACD knows at once: the
agent is held (paused with the ``outbound-call`` code, so no queue offer reaches them) for exactly as long as
the call lasts, and the call is an outbound interaction like every other. A desktop request (an ``agent_calls``
row the web app stored) rings the agent's phone first, into the app; once answered it goes the same way.

The customer's leg is originated through the tenant's outbound route into the app (a failure before the answer
reaches us as ChannelDestroyed); answered, the two legs are bridged. When either side hangs up the other is hung
up, the interaction ends and the agent is given back to the ACD. A refused number (empty, not a number, on the
do-not-call list, no route) sends the phone to ``tvoxcc-dialout-refused``: a message, then a hang-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from tvoxcc.acd import AcdService, NotRouting
from tvoxcc.agentcalls.hold import AgentHold
from tvoxcc.agentcalls.model import Refusal, end_detail, end_outcome
from tvoxcc.agentcalls.store import AgentCallBook, Prepared, Refused
from tvoxcc.ari import AriClient, AriError
from tvoxcc.interactions import Direction
from tvoxcc.voice.call_recordings import CallRecordings, PendingRecording
from tvoxcc.voice.callbacks import NotDiallable
from tvoxcc.voice.lanes import Lanes
from tvoxcc.voice.recorder import InteractionRef

log = logging.getLogger(__name__)

DIALOUT_ARG = "tvoxcc-dialout"  # from the dialplan; Stasis args: tenant, agent, number
AGENT_ARG = "tvoxcc-dialout-agent"  # click-to-call: the agent's phone answered; args: the agent_calls row id
CUSTOMER_ARG = "tvoxcc-dialout-customer"  # the customer answered; args: the agent's channel id
REFUSED_CONTEXT = "tvoxcc-dialout-refused"  # TVOXCC_DIALOUT_REFUSED says why; a message, then hang up
REQUEST_POLL_S = 1.0


@dataclass
class Live:
    """One agent call being carried out (keyed by the agent's channel)."""

    call: Prepared
    agent_channel: str
    customer_channel: str
    interaction_id: int | None = None
    answered: bool = False
    bridge_id: str | None = None
    held: bool = False  # this call paused the agent in the ACD
    over: bool = False


class AgentCalls:
    def __init__(
        self,
        ari: AriClient,
        book: AgentCallBook,
        acd: AcdService,
        clock: Callable[[], datetime],
        lanes: Lanes,
        *,
        poll_s: float = REQUEST_POLL_S,
        recordings: CallRecordings | None = None,
        recorded_queues: Callable[[], Collection[str]] = frozenset,
    ) -> None:
        self.ari, self.book, self.clock, self.lanes = ari, book, clock, lanes
        self.hold = AgentHold(acd)
        self.poll_s = poll_s
        # An agent's own call is recorded when one of their queues records its calls (the ACD's view of them).
        self.recordings, self.recorded_queues = recordings, recorded_queues
        self.acd = acd
        self.live: dict[str, Live] = {}  # agent channel -> call
        self.customer_of: dict[str, str] = {}  # customer channel -> agent channel
        self.ringing: dict[str, int] = {}  # click-to-call: agent channel being rung -> agent_calls row
        # Agent channels whose start waits in their lane: a hang-up meanwhile must reach that lane too.
        self.starting: set[str] = set()
        self._poller: asyncio.Task[None] | None = None

    # -- the voice app's hooks (each returns at once) ---------------------------------------------------------------

    @staticmethod
    def claims(args: tuple[str, ...]) -> bool:
        return bool(args) and args[0] in (DIALOUT_ARG, AGENT_ARG, CUSTOMER_ARG)

    def owns(self, channel_id: str) -> bool:
        known = (self.live, self.customer_of, self.ringing, self.starting)
        return any(channel_id in channels for channels in known)

    def stasis_start(self, channel_id: str, args: tuple[str, ...]) -> None:
        if args[0] == CUSTOMER_ARG:
            self.lanes.submit(_lane(self.customer_of.get(channel_id, channel_id)), self._customer_answered(channel_id))
        elif args[0] == AGENT_ARG:
            self.starting.add(channel_id)
            self.lanes.submit(_lane(channel_id), self._agent_answered(channel_id))
        else:
            tenant, agent, number = (*args[1:4], "", "", "")[:3]
            self.starting.add(channel_id)
            self.lanes.submit(_lane(channel_id), self._from_phone(channel_id, tenant, agent, number))

    def gone(self, channel_id: str, cause: int = 0) -> None:
        agent_channel = self.customer_of.get(channel_id, channel_id)
        self.lanes.submit(_lane(agent_channel), self._gone(channel_id, agent_channel, cause))

    # -- desktop requests: ring the agent's phone first ---------------------------------------------------------

    def start(self) -> None:
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll_requests(), name="agent-call-requests")

    async def take_over(self) -> None:
        """At start: the calls a previous run was carrying out ended (their rows and interactions), and the
        agents it held given back to the ACD (else they would stay paused ``outbound-call`` for ever)."""
        ended = await self.book.left_open(self.clock())
        released = self.hold.release_all()
        if ended or released:
            log.warning(
                "agent calls: %d left open by a previous run ended, %d agent(s) given back", ended, len(released)
            )

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None

    async def _poll_requests(self) -> None:
        while True:
            try:
                for claimed in await self.book.claim_requests(self.clock()):
                    await self._ring_agent(claimed.row_id, claimed.agent, claimed.number)
            except Exception:
                log.exception("agent calls: taking desktop requests failed")
            await asyncio.sleep(self.poll_s)

    async def _ring_agent(self, row_id: int, agent: str, number: str) -> None:
        if self._agent_busy(agent):
            await self.book.refuse(row_id, Refusal.BUSY_AGENT, self.clock())
            return
        channel_id = f"{AGENT_ARG}-{uuid.uuid4().hex[:16]}"
        self.ringing[channel_id] = row_id
        try:
            await self.ari.channels.originate(
                f"PJSIP/{agent}",
                app=self.ari.app,
                app_args=f"{AGENT_ARG},{row_id}",
                caller_id=f'"Call {number}" <{number}>',
                ring_timeout=30,
                channel_id=channel_id,
            )
        except AriError as exc:  # the phone is not registered
            log.warning("agent calls: cannot ring %s for request %d: %s", agent, row_id, exc)
            self.ringing.pop(channel_id, None)
            await self.book.refuse(row_id, Refusal.AGENT_NO_ANSWER, self.clock())

    async def _agent_answered(self, channel_id: str) -> None:
        row_id = self.ringing.pop(channel_id, None)
        if row_id is None:
            self.starting.discard(channel_id)
            await self._quietly(self.ari.channels.hangup(channel_id))
            return
        prepared = await self.book.take_up(row_id, self.clock())
        await self._go(channel_id, prepared)

    # -- a call ----------------------------------------------------------------------------------------------------

    async def _from_phone(self, channel_id: str, tenant: str, agent: str, number: str) -> None:
        prepared = await self.book.prepare(tenant, agent, number, self.clock())
        await self._go(channel_id, prepared)

    async def _go(self, agent_channel: str, prepared: Prepared | Refused) -> None:
        self.starting.discard(agent_channel)  # from here on ``live`` (or nothing, refused) knows it
        if isinstance(prepared, Prepared) and self._agent_busy(prepared.agent):
            await self.book.refuse(prepared.row_id, Refusal.BUSY_AGENT, self.clock())
            prepared = Refused(prepared.row_id, Refusal.BUSY_AGENT)
        if isinstance(prepared, Refused):
            log.info("agent calls: refused on %s: %s", agent_channel, prepared.reason.message)
            await self._refuse(agent_channel, prepared.reason)
            return
        customer = f"{CUSTOMER_ARG}-{uuid.uuid4().hex[:16]}"
        live = Live(prepared, agent_channel, customer)
        self.live[agent_channel], self.customer_of[customer] = live, agent_channel
        live.held = self.hold.hold(prepared.agent)
        live.interaction_id = await self.book.dialing(prepared, customer, self.clock())
        await self._quietly(self.ari.channels.ring(agent_channel))  # ringback while the customer's phone rings
        try:
            await self.ari.channels.originate(
                prepared.route.dial(prepared.number),
                app=self.ari.app,
                app_args=f"{CUSTOMER_ARG},{agent_channel}",
                caller_id=prepared.route.caller_id or None,
                ring_timeout=prepared.route.ring_seconds,
                channel_id=customer,
            )
        except (AriError, NotDiallable) as exc:
            log.warning("agent calls: %s not dialled: %s", prepared.number, exc)
            await self._end(live, cause=0)
            await self._quietly(self.ari.channels.hangup(agent_channel))

    async def _customer_answered(self, customer: str) -> None:
        live = self.live.get(self.customer_of.get(customer, ""))
        if live is None or live.over:
            await self._quietly(self.ari.channels.hangup(customer))
            return
        live.answered = True
        await self.book.answered(live.call, live.interaction_id or 0, self.clock())
        try:
            await self._quietly(self.ari.channels.ring_stop(live.agent_channel))
            await self.ari.channels.answer(live.agent_channel)
            bridge = await self.ari.bridges.create(type="mixing")
            live.bridge_id = bridge.id
            await self.ari.bridges.add_channel(bridge.id, [live.agent_channel, customer])
        except AriError as exc:  # the agent hung up just now: nobody is left for the customer
            log.info("agent calls: bridging %s failed: %s", customer, exc)
            await self._end(live, cause=0)
            await self._quietly(self.ari.channels.hangup(customer))
            return
        if self._records(live.call.agent):
            await self._record(live, bridge.id)

    def _records(self, agent: str) -> bool:
        try:
            view = self.acd.agent_view(agent) if self.recordings is not None else None
        except NotRouting:  # a standby ACD: it knows no agent
            return False
        recorded = self.recorded_queues()
        return view is not None and any(member.queue in recorded for member in view.members)

    async def _record(self, live: Live, bridge_id: str) -> None:
        assert self.recordings is not None and live.interaction_id is not None
        name = recording_of(live.call.row_id)
        pending = PendingRecording(
            live.call.tenant,
            InteractionRef.stored(live.call.tenant_id, live.interaction_id),
            None,  # no queue: the agent's own call
            live.call.agent_row,
            None,
            live.call.number,
            self.clock(),
            direction=Direction.OUTBOUND,
            agent_channel=live.agent_channel,
        )
        try:
            await self.ari.bridges.record(bridge_id, name, format="wav", if_exists="overwrite")
        except AriError as exc:
            log.warning("agent calls: cannot record %s: %s", name, exc)
            return
        self.recordings.started(name, pending)
        await self.book.recording(live.call, live.interaction_id, name)

    async def _gone(self, channel_id: str, agent_channel: str, cause: int) -> None:
        if channel_id in self.ringing:  # a click-to-call the agent never answered
            row_id = self.ringing.pop(channel_id)
            await self.book.refuse(row_id, Refusal.AGENT_NO_ANSWER, self.clock())
            return
        live = self.live.get(agent_channel)
        if live is None:
            return
        other = live.customer_channel if channel_id == agent_channel else agent_channel
        await self._end(live, cause=cause if channel_id == live.customer_channel else 0)
        await self._quietly(self.ari.channels.hangup(other))

    async def _end(self, live: Live, *, cause: int) -> None:
        if live.over:
            return
        live.over = True
        self.live.pop(live.agent_channel, None)
        self.customer_of.pop(live.customer_channel, None)
        if live.bridge_id is not None:
            await self._quietly(self.ari.bridges.destroy(live.bridge_id))
            if self.recordings is not None:  # its RecordingFinished may never come: watched till stored
                self.recordings.call_ended(recording_of(live.call.row_id), self.clock)
        if live.held:
            self.hold.release(live.call.agent)
        outcome = end_outcome(answered=live.answered, cause=cause)
        detail = end_detail(answered=live.answered, cause=cause)
        await self.book.ended(live.call, live.interaction_id, self.clock(), outcome, detail, cause)

    async def _refuse(self, channel_id: str, reason: Refusal) -> None:
        with contextlib.suppress(AriError):
            await self.ari.channels.set_variable(channel_id, "TVOXCC_DIALOUT_REFUSED", reason.value)
            await self.ari.channels.continue_in_dialplan(channel_id, context=REFUSED_CONTEXT, extension="s", priority=1)

    def _agent_busy(self, agent: str) -> bool:
        """On another call already (an ACD call, or one of their own)."""
        return any(live.call.agent == agent for live in self.live.values()) or self.hold.busy(agent)

    @staticmethod
    async def _quietly(request: Awaitable[object]) -> None:
        with contextlib.suppress(AriError):  # gone already: the other side's hang-up raced ours
            await request


def recording_of(call_row: int) -> str:
    """The ARI name of an agent's own call's bridge recording."""
    return f"tvoxcc-agent-call-{call_row}"


def _lane(agent_channel: str) -> str:
    return f"agent-call:{agent_channel}"
