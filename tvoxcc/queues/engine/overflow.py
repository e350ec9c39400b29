"""Entering a queue and leaving it other than by an agent: overflow rules, max wait, a switch to callback.

Overflow follows Asterisk where it has an equivalent: a length or no-agents rule turns a new item away
before it enters (joinempty/maxlen: no ENTERQUEUE), the last member logging out moves the waiting items on
(leavewhenempty: EXITEMPTY), a wait rule or max wait logs EXITWITHTIMEOUT.
"""

from __future__ import annotations

from tvoxcc.queues import queue_log
from tvoxcc.queues.engine.base import MAX_WAIT, OVERFLOW_WAIT
from tvoxcc.queues.engine.offers import Offers
from tvoxcc.queues.model import (
    Channel,
    EventKind,
    ExitQueue,
    ItemStatus,
    Overflow,
    OverflowAction,
    OverflowRule,
    OverflowWhen,
)
from tvoxcc.queues.state import Item, QueueState


def _turns_away(q: QueueState, item: Item, rule: OverflowRule) -> bool:
    if rule.when is OverflowWhen.NO_AGENTS:
        return q.logged_in == 0
    return rule.when is OverflowWhen.LENGTH and rule.length is not None and q.length(item.channel) >= rule.length


class OverflowRules(Offers):
    def _enter_queue(self, item: Item, queue: str, hops: int, since: float | None = None) -> None:
        """``since``: when it entered this queue, if before now (a call taken back after a restart)."""
        q = self.queues[queue]
        now = self._now
        item.queue, item.queued_at = queue, now if since is None else since
        item.queue_token += 1
        item.tried.clear()
        self._arrival_seq += 1
        item.key = (-q.effective_priority(item.channel, item.contact_priority), item.arrived_at, self._arrival_seq)
        if hops < self.max_overflow_hops:
            # Asterisk's joinempty/maxlen: a diverted item never enters, so there is no ENTERQUEUE for it.
            for rule in q.config.overflow:
                if _turns_away(q, item, rule) and self._divert(item, q, rule, hops, exit_event=None):
                    return
        item.orig_position = q.position_of(item.channel, item.key)
        self._log(queue_log.enter_queue(now, item.item_id, queue, item.caller_id, item.orig_position))
        self._event(EventKind.ITEM_QUEUED, queue=queue, item_id=item.item_id, value=item.orig_position)
        self._enter_waiting(item, q)
        self._arm_wait_timers(item, q)
        self._route_item(item)

    def _arm_wait_timers(self, item: Item, q: QueueState) -> None:
        for index, rule in enumerate(q.config.overflow):
            if rule.when is OverflowWhen.WAIT and rule.after_s is not None:
                self._timer(item.queued_at + rule.after_s, OVERFLOW_WAIT, item.item_id, item.queue_token, index)
        if q.config.max_wait_s is not None:
            self._timer(item.queued_at + q.config.max_wait_s, MAX_WAIT, item.item_id, item.queue_token)

    def _to_callback(self, item: Item, q: QueueState, number: str) -> None:
        """Swap a waiting call for a callback with the same order key: the place in line is kept."""
        self._leave_waiting(item, q)
        item.channel = Channel.CALLBACK
        item.callback_number = number
        self._enter_waiting(item, q)
        self._event(EventKind.CALLBACK_REQUESTED, queue=q.config.name, item_id=item.item_id, detail=number)
        self._route_item(item)

    def _divert(self, item: Item, q: QueueState, rule: OverflowRule, hops: int, exit_event: str | None) -> bool:
        """Apply an overflow rule; False when it does not apply to this item (then the next rule is tried)."""
        action = rule.action
        number = item.callback_number or item.caller_id
        if action is OverflowAction.QUEUE and (rule.target not in self.queues or rule.target == q.config.name):
            return False
        if action is OverflowAction.CALLBACK and (item.channel is not Channel.VOICE or not number):
            return False
        name = q.config.name
        self._command(Overflow(item.item_id, name, action, rule.target))
        self._event(EventKind.ITEM_OVERFLOWED, queue=name, item_id=item.item_id, detail=f"{rule.when}->{action}")
        if action is OverflowAction.CALLBACK:
            if exit_event is None:
                item.channel, item.callback_number = Channel.CALLBACK, number
                self._enter_queue(item, name, hops + 1)
            else:
                self._to_callback(item, q, number)
            return True
        if exit_event is not None:
            self._leave_waiting(item, q)
            wait = self._now - item.queued_at
            self._log(
                queue_log.left_queue(self._now, item.item_id, name, exit_event, item.position, item.orig_position, wait)
            )
        if action is OverflowAction.QUEUE:
            assert rule.target is not None
            self._enter_queue(item, rule.target, hops + 1)
        else:
            self._forget(item)
        return True

    def _queue_emptied(self, q: QueueState) -> None:
        """The last member logged out: waiting items follow the no-agents rule (Asterisk leavewhenempty)."""
        rules = [rule for rule in q.config.overflow if rule.when is OverflowWhen.NO_AGENTS]
        for item in list(q.waiting_items.values()):
            for rule in rules:
                if self._divert(item, q, rule, 0, exit_event="EXITEMPTY"):
                    break

    def _wait_timer(self, item: Item, kind: int, token: int, extra: int) -> None:
        """A wait overflow rule or the max wait is due for an item still in the queue it was armed in."""
        if item.channel is Channel.CALLBACK:
            return  # the customer is not on the line: nothing to time out
        if item.status is ItemStatus.OFFERED:
            # Ringing now; look again when the ring ends (answered: the timer is then ignored).
            self._timer(item.offer_deadline, kind, item.item_id, token, extra)
            return
        if item.status is not ItemStatus.WAITING:
            return
        q = self.queues[item.queue]
        if kind == OVERFLOW_WAIT:
            self._divert(item, q, q.config.overflow[extra], 0, exit_event="EXITWITHTIMEOUT")
        elif kind == MAX_WAIT:
            self._leave_waiting(item, q)
            wait = self._now - item.queued_at
            name = q.config.name
            self._log(
                queue_log.left_queue(
                    self._now, item.item_id, name, "EXITWITHTIMEOUT", item.position, item.orig_position, wait
                )
            )
            self._event(EventKind.ITEM_TIMED_OUT, queue=name, item_id=item.item_id, value=wait)
            self._command(ExitQueue(item.item_id, name, "timeout"))
            self._forget(item)
