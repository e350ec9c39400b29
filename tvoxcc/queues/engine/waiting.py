"""Items entering and leaving the waiting lines of a queue (tvoxcc.queues.lines), and being forgotten.

An item waits in the line of its (queue, capacity channel) and of the relaxation stage its wait has
reached; a relax timer moves it one stage on. It leaves its line the moment it is offered, relaxed or
gone: lines are sorted lists with exact removal, not heaps with lazy deletion, so the decision of a freed
agent never pays for stale entries left by earlier events. A sorted list of order keys per (queue, item
channel) gives positions and lengths. An item whose own skills ask more than its queue waits in the
queue's narrowed line of its capacity channel instead, with the levels it needs at its stage.
"""

from __future__ import annotations

import bisect

from tvoxcc.queues.engine.availability import AgentAvailability
from tvoxcc.queues.engine.base import RELAX
from tvoxcc.queues.lines import StagedLines
from tvoxcc.queues.model import CAPACITY_CHANNEL, ItemStatus
from tvoxcc.queues.skills import item_levels, required_levels, stage_at
from tvoxcc.queues.state import Item, QueueState


class WaitingLines(AgentAvailability):
    def _enter_waiting(self, item: Item, q: QueueState) -> None:
        relax = q.config.relax
        item.status = ItemStatus.WAITING
        item.stage = stage_at(relax, item.queued_at, self._now)
        item.wait_token += 1
        cap = CAPACITY_CHANNEL[item.channel]
        item.needs = None
        if item.skills:
            levels = item_levels(q.config.skills, item.skills)
            if levels != dict(q.config.skills):
                item.needs = required_levels(levels, relax, item.stage)
        if item.needs is None:
            lines = q.waiting.get(cap)
            if lines is None:
                lines = q.waiting[cap] = StagedLines(q.stages)
            lines.add(item.stage, (item.key, item.item_id))
        else:
            bisect.insort(q.narrowed.setdefault(cap, []), (item.key, item.item_id))
        order = q.order.get(item.channel)
        if order is None:
            order = q.order[item.channel] = []
        bisect.insort(order, item.key)
        q.waiting_items[item.item_id] = item
        if item.stage < len(relax):
            self._timer(item.queued_at + relax[item.stage].after_s, RELAX, item.item_id, item.wait_token)

    def _leave_waiting(self, item: Item, q: QueueState) -> None:
        if item.status is not ItemStatus.WAITING:
            return
        item.wait_token += 1  # its relax timer is now stale
        cap = CAPACITY_CHANNEL[item.channel]
        if item.needs is None:
            q.waiting[cap].remove(item.stage, (item.key, item.item_id))
        else:
            narrowed = q.narrowed[cap]
            del narrowed[bisect.bisect_left(narrowed, (item.key, item.item_id))]
            if not narrowed:
                del q.narrowed[cap]
        order = q.order[item.channel]
        index = bisect.bisect_left(order, item.key)
        item.position = index + 1
        del order[index]
        del q.waiting_items[item.item_id]

    def _forget(self, item: Item) -> None:
        item.status = ItemStatus.DONE
        item.queue_token += 1
        item.wait_token += 1
        del self.items[item.item_id]
