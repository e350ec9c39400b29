"""Callers waiting in the ACD: position and estimated-wait announcements, and an overflow that takes a caller
out of its queue (to another queue, a callback, the IVR or voicemail)."""

from __future__ import annotations

import contextlib
import logging
import uuid

from tvoxcc.acd import NotRouting
from tvoxcc.ari import AriError
from tvoxcc.interactions import Outcome
from tvoxcc.ivr.nodes import Flow
from tvoxcc.queues import model as q
from tvoxcc.voice.acd_agents import AcdAgents
from tvoxcc.voice.acd_base import CALLBACK_NOTICE, Waiting
from tvoxcc.voice.acd_config import QueueKey
from tvoxcc.voice.announce import announcement
from tvoxcc.voice.callback_status import CallbackStatus
from tvoxcc.voice.callbacks import CallbackJob

log = logging.getLogger(__name__)


class AcdHolding(AcdAgents):
    """Announcements to waiting callers, and overflows out of a queue."""

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
                estimate = self.service.estimate(item_id)
            except (q.RouterError, NotRouting):
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
                status=CallbackStatus.QUEUED,
                event=False,  # the router's callback-requested event is stored with the call
            )
            route = call.route
            self.callbacks[item_id] = CallbackJob(
                item_id, callback_id, route.tenant, route.tenant_id, route.service, waiting.queue.name,
                call.caller.number, call.interaction.id,
            )  # fmt: skip
            await call.directory.close(route, call.interaction, self.clock(), Outcome.CALLBACK)
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
