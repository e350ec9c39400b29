"""A campaign's lines on Asterisk (ARI): dial through the tenant's outbound route, AMD on answer, outcomes back.

A line is originated into our Stasis app (as callbacks are), so every failure before the answer reaches us
(ChannelDestroyed: busy, no answer after the ring time, congestion). Once answered it is continued at once
into the dialplan's `tvoxcc-campaign-amd` context, where AMD() listens to the greeting and the line comes back
into the app with the verdict; the app stays subscribed to the channel meanwhile, so a hang-up during AMD is
seen too. A Connect rings the agent's phone into the app and bridges it with the line; when either side
hangs up the other is hung up and CallEnded is reported. The dialer's events (LineResult, CallEnded) go to
`report`; its commands for the line come in here.

Which agents are free is not decided here (nor in the dialer): the ACD decides (tvoxcc.campaigns.desk).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tvoxcc.ari import AriClient
from tvoxcc.ari.errors import AriError
from tvoxcc.ari.events import ChannelDestroyed, PlaybackFinished, StasisStart
from tvoxcc.campaigns.events import (
    Abandon,
    CallEnded,
    Connect,
    ConnectFailed,
    Dial,
    HangUp,
    LeaveMessage,
    LineResult,
)
from tvoxcc.campaigns.model import LineOutcome, unanswered_outcome
from tvoxcc.voice.callbacks import NotDiallable, OutboundRoute

log = logging.getLogger(__name__)

CAMPAIGN_LEG = "tvoxcc-campaign"
AMD_LEG = "tvoxcc-campaign-amd"  # the dialplan context and the Stasis argument it comes back with
AGENT_LEG = "tvoxcc-campaign-agent"


def amd_outcome(status: str) -> LineOutcome:
    """MACHINE is a machine; HUMAN and NOTSURE are treated as a person (an agent, or the abandon rule's 2 s)."""
    return LineOutcome.MACHINE if status == "MACHINE" else LineOutcome.HUMAN


@dataclass
class LineCall:
    line: int
    channel_id: str
    answered: bool = False
    decided: bool = False  # its LineResult was reported
    hang_up_after_playback: bool = False
    agent_channel: str | None = None
    bridge_id: str | None = None
    ended: bool = False


class CampaignLines:
    def __init__(
        self,
        ari: AriClient,
        route: OutboundRoute,
        report: Callable[[LineResult | CallEnded | ConnectFailed], Awaitable[None]],
        message: str,
        agent_endpoint: Callable[[str], str] = lambda agent: f"PJSIP/{agent}",
    ) -> None:
        self.ari, self.route, self.report, self.message = ari, route, report, message
        self.agent_endpoint = agent_endpoint
        self.calls: dict[str, LineCall] = {}  # channel id (the line's or its agent's) -> call
        self.by_line: dict[int, LineCall] = {}

    async def dial(self, command: Dial) -> None:
        call = LineCall(command.line, f"{CAMPAIGN_LEG}-{command.line}-{uuid.uuid4().hex[:12]}")
        self.calls[call.channel_id] = self.by_line[command.line] = call
        try:
            await self.ari.channels.originate(
                self.route.dial(command.number),
                app=self.ari.app,
                app_args=f"{CAMPAIGN_LEG},{command.line}",
                caller_id=self.route.caller_id or None,
                ring_timeout=max(int(command.ring_s), 15),
                channel_id=call.channel_id,
            )
        except (AriError, NotDiallable) as exc:
            log.warning("campaign line %s to %s not dialled: %s", command.line, command.number, exc)
            self.calls.pop(call.channel_id, None)
            self.by_line.pop(command.line, None)
            await self.report(LineResult(command.line, LineOutcome.FAILED))

    async def carry_out(self, command: Connect | Abandon | HangUp | LeaveMessage) -> None:
        call = self.by_line.get(command.line)
        if call is None:
            return
        if isinstance(command, Connect):
            call.agent_channel = f"{AGENT_LEG}-{command.line}-{uuid.uuid4().hex[:12]}"
            call.ended = False  # another agent, after one whose phone refused the line
            self.calls[call.agent_channel] = call
            try:
                await self.ari.channels.originate(
                    self.agent_endpoint(command.agent),
                    app=self.ari.app,
                    app_args=f"{AGENT_LEG},{command.line}",
                    ring_timeout=15,
                    channel_id=call.agent_channel,
                )
            except AriError as exc:  # its phone is not registered, or gone (its contact expired: 500 Allocation failed)
                log.warning("campaign line %s: agent %s not rung: %s", command.line, command.agent, exc)
                self.calls.pop(call.agent_channel, None)
                call.agent_channel, call.ended = None, True
                await self.report(ConnectFailed(command.line))
            return
        if isinstance(command, HangUp):
            await self.ari.channels.hangup(call.channel_id)
            return
        call.hang_up_after_playback = True  # the abandon message (naming the caller), or the machine's message
        await self.ari.channels.play(call.channel_id, f"sound:{self.message}")

    async def on_event(self, event: object) -> None:
        if isinstance(event, StasisStart) and event.args and event.args[0] == CAMPAIGN_LEG:
            call = self.calls.get(event.channel.id)
            if call is not None:
                call.answered = True
                await self.ari.applications.subscribe(self.ari.app, f"channel:{call.channel_id}")
                await self.ari.channels.set_variable(call.channel_id, "TVOXCC_LINE", str(call.line))
                await self.ari.channels.continue_in_dialplan(
                    call.channel_id, context=AMD_LEG, extension="s", priority=1
                )
        elif isinstance(event, StasisStart) and event.args and event.args[0] == AMD_LEG:
            call = self.calls.get(event.channel.id)
            if call is not None and not call.decided:
                call.decided = True
                status = event.args[2] if len(event.args) > 2 else ""
                await self.report(LineResult(call.line, amd_outcome(status)))
        elif isinstance(event, StasisStart) and event.args and event.args[0] == AGENT_LEG:
            call = self.calls.get(event.channel.id)
            if call is not None:
                bridge = await self.ari.bridges.create(type="mixing")
                call.bridge_id = bridge.id
                await self.ari.bridges.add_channel(bridge.id, [call.channel_id, event.channel.id])
        elif isinstance(event, PlaybackFinished):
            channel = event.playback.target_uri.removeprefix("channel:")
            call = self.calls.get(channel)
            if call is not None and call.hang_up_after_playback:
                await self.ari.channels.hangup(call.channel_id)
        elif isinstance(event, ChannelDestroyed):
            call = self.calls.pop(event.channel.id, None)
            if call is not None:
                await self._gone(call, event.channel.id, event.cause)

    async def _gone(self, call: LineCall, channel_id: str, cause: int) -> None:
        if not call.decided:  # the line, before the dialer had its verdict
            call.decided = True
            self.by_line.pop(call.line, None)
            outcome = LineOutcome.FAILED if call.answered else unanswered_outcome(cause)
            await self.report(LineResult(call.line, outcome))
            return
        if channel_id == call.agent_channel and call.bridge_id is None and not call.ended:
            call.ended = True  # the agent's phone never answered: the dialer abandons the person (message, hang-up)
            call.agent_channel = None
            await self.report(ConnectFailed(call.line))
            return
        other = call.agent_channel if channel_id == call.channel_id else call.channel_id
        if other is not None and other in self.calls:
            await self._quietly(self.ari.channels.hangup(other))
        if call.agent_channel is not None and not call.ended:  # a talk (or an agent leg that never answered)
            call.ended = True
            self.by_line.pop(call.line, None)
            if call.bridge_id is not None:
                await self._quietly(self.ari.bridges.destroy(call.bridge_id))
            await self.report(CallEnded(call.line))
        elif call.agent_channel is None:
            self.by_line.pop(call.line, None)  # abandoned, hung up, a machine: the dialer has its verdict

    @staticmethod
    async def _quietly(request: Awaitable[None]) -> None:
        with contextlib.suppress(AriError):  # gone already: the other side's hang-up raced ours
            await request
