"""Callbacks in the ACD: stored requests become callback items of the router; when one's turn comes the
router reserves a free agent and says PlaceCallback; the customer is dialled through the tenant's outbound
route (tvoxcc.voice.callbacks holds the rows). Busy or no answer: the router retries later at the same place.
"""

from __future__ import annotations

import functools
import logging
import uuid

from tvoxcc.acd import AcdService, NewItem
from tvoxcc.ari import AriError
from tvoxcc.interactions import InteractionEventKind as Kind
from tvoxcc.interactions import Outcome
from tvoxcc.queues import model as q
from tvoxcc.voice.acd_base import CALLBACK_LEG, AcdBase
from tvoxcc.voice.acd_config import QueueKey
from tvoxcc.voice.callback_status import CallbackStatus
from tvoxcc.voice.callbacks import NotDiallable

log = logging.getLogger(__name__)


class AcdCallbacks(AcdBase):
    """Taking stored callback requests, dialling the customer, and how an attempt ends."""

    async def _take_callbacks(self, *, again: bool = False) -> None:
        """Stored requests of tenants with an outbound route become callback items of their queue; those an
        operator cancelled leave the line."""
        waiting = {job.callback_id: item_id for item_id, job in self.callbacks.items() if job.channel_id is None}
        for callback_id in await self.book.cancelled(waiting):
            await self._cancel_callback(waiting[callback_id])
        self.outbound = await self.book.outbound_routes()
        if not self.outbound:
            return
        for job in await self.book.take_pending(set(self.outbound), again=again):
            if job.item_id in self.callbacks:
                continue
            if job.left_ringing is not None:
                # A previous run stopped while dialling: its call may still ring the customer (or be answered
                # with nobody to take it). End it before dialling again, so they never get two calls.
                log.warning("ACD: callback %s: hanging up the attempt a previous run left", job.callback_id)
                await self._hangup(job.left_ringing)
                await self.book.finished(job, self.clock(), status=CallbackStatus.QUEUED, outcome=Outcome.INTERRUPTED)
            self.callbacks[job.item_id] = job
            if again and self.service.item_view(job.item_id) is not None:
                continue  # restored from the ACD's rows with its place: taken back as it is
            item = NewItem(
                QueueKey(job.tenant, job.queue).router_name,
                q.Channel.CALLBACK,
                job.tenant_id,
                job.item_id,
                callback_number=job.number,
            )
            if self._apply(functools.partial(_submitted, self.service, item)) is None:
                self.callbacks.pop(job.item_id, None)  # a queue made after the ACD started: later
                await self.book.finished(job, self.clock(), status=CallbackStatus.PENDING, outcome=None)

    async def _open_attempt(self, item_id: str) -> None:
        job = self.callbacks.get(item_id)
        route = self.outbound.get(job.tenant) if job else None
        if job is None:
            return
        job.channel_id = f"{CALLBACK_LEG}-{uuid.uuid4().hex[:16]}"
        job.answered = False
        caller_id = route.caller_id if route else ""
        interaction_id = await self.book.placing(job, job.channel_id, caller_id, self.clock())
        if interaction_id is None:  # cancelled by an operator since the last poll: never dial it
            job.channel_id, job.cancelled = None, True
            return
        job.interaction_id = interaction_id

    async def _place_callback(self, command: q.PlaceCallback, events: list[q.Event]) -> None:
        await self._open_attempt(command.item_id)
        self._record(events)
        await self._carry_out(command)

    async def _dial_customer(self, item_id: str) -> None:
        job = self.callbacks.get(item_id)
        route = self.outbound.get(job.tenant) if job else None
        if job is not None and job.cancelled:
            self.lanes.submit(item_id, self._cancel_callback(item_id))  # frees the reserved agent
            return
        try:
            if job is None or job.channel_id is None or route is None:
                raise NotDiallable("no outbound route")
            self.dialing[job.channel_id] = item_id
            self.originating.add(job.channel_id)
            try:
                await self.ari.channels.originate(
                    route.dial(job.number),
                    app=self.ari.app,
                    app_args=f"{CALLBACK_LEG},{item_id}",
                    caller_id=route.caller_id or None,
                    ring_timeout=route.ring_seconds,
                    channel_id=job.channel_id,
                )
            finally:
                self.originating.discard(job.channel_id)
        except (AriError, NotDiallable) as exc:
            log.warning("ACD: cannot call back %s: %s", item_id, exc)
            if job is not None and job.channel_id is not None:
                self.dialing.pop(job.channel_id, None)
            self.lanes.submit(item_id, self._callback_failed(item_id, Outcome.NOT_DIALLED))

    async def _callback_failed(self, item_id: str, outcome: Outcome) -> None:
        job = self.callbacks.get(item_id)
        if job is None:
            return
        outputs = self._apply(lambda: self.service.callback_failed(item_id))
        ends = outputs is not None and any(
            isinstance(command, q.ExitQueue) and command.item_id == item_id for command in outputs.commands
        )
        if not ends:  # a retry comes (else ExitQueue, in this item's lane, ends it as failed)
            await self.book.finished(job, self.clock(), status=CallbackStatus.QUEUED, outcome=outcome)

    async def _cancel_callback(self, item_id: str) -> None:
        job = self.callbacks.get(item_id)
        if job is not None:
            log.info("ACD: callback %s to %s cancelled", job.callback_id, job.number)
            self._apply(lambda: self.service.abandon(item_id))
            self.callbacks.pop(item_id, None)  # only now: the router's events are stored with the request

    async def _callback_over(self, item_id: str, outcome: Outcome) -> None:
        """A callback's conversation ended (or the customer left before an agent answered)."""
        job = self.callbacks.pop(item_id, None)
        if job is None:
            return
        answered = outcome == Outcome.ANSWERED
        status = CallbackStatus.DONE if answered else CallbackStatus.FAILED
        event = Kind.CALLBACK_COMPLETED if answered else q.EventKind.CALLBACK_FAILED
        await self.book.finished(job, self.clock(), status=status, outcome=None, event=event)


def _submitted(service: AcdService, item: NewItem) -> q.Outputs:
    return service.submit_item(item)[1]
