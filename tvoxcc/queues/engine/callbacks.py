"""Public callback actions: a caller leaves the line but keeps their place, and is called back in turn.

When the turn comes an agent is reserved and the voice adapter places the call (PlaceCallback); once the
customer answers the agent rings like for any call. A failed attempt is retried at the same place.
"""

from __future__ import annotations

from tvoxcc.queues.engine.base import CALLBACK_RETRY
from tvoxcc.queues.engine.timers import Timers
from tvoxcc.queues.model import Channel, EventKind, ExitQueue, ItemStatus, Outputs, RouterError


class CallbackActions(Timers):
    def request_callback(self, item_id: str, now: float, *, number: str = "") -> Outputs:
        """The caller leaves the line but keeps their place; they are called back when their turn comes."""
        out = self._begin(now)
        item = self._item(item_id)
        if item.status is not ItemStatus.WAITING or item.channel is not Channel.VOICE:
            raise RouterError(f"item {item_id!r} is not a waiting call")
        number = number or item.callback_number or item.caller_id
        if not number:
            raise RouterError(f"item {item_id!r}: no number to call back")
        self._to_callback(item, self.queues[item.queue], number)
        return out

    def callback_answered(self, item_id: str, now: float) -> Outputs:
        """The customer picked up the callback: ring the agent reserved for it."""
        out = self._begin(now)
        item = self._item(item_id)
        if item.status is not ItemStatus.DIALING or item.agent_id is None:
            raise RouterError(f"item {item_id!r} is not being called back")
        q = self.queues[item.queue]
        agent_id = item.agent_id
        item.agent_id = None
        self._event(EventKind.CALLBACK_ANSWERED, queue=q.config.name, item_id=item_id, agent_id=agent_id)
        self._ring(item, q, agent_id)
        return out

    def callback_failed(self, item_id: str, now: float) -> Outputs:
        """No answer/busy: free the agent and retry later at the same place, up to callback_attempts."""
        out = self._begin(now)
        item = self._item(item_id)
        if item.status is not ItemStatus.DIALING or item.agent_id is None:
            raise RouterError(f"item {item_id!r} is not being called back")
        q = self.queues[item.queue]
        agent = self._unreserve(item)
        item.callback_attempts += 1
        self._event(EventKind.CALLBACK_FAILED, queue=q.config.name, item_id=item_id, value=item.callback_attempts)
        if item.callback_attempts >= self.callback_attempts:
            self._command(ExitQueue(item_id, q.config.name, "callback-failed"))
            self._forget(item)
        else:
            item.status = ItemStatus.CALLBACK_PENDING
            item.retry_at = now + self.callback_retry_s
            self._timer(item.retry_at, CALLBACK_RETRY, item_id, item.queue_token)
        self._refresh(agent)
        self._route_agent(agent)
        return out
