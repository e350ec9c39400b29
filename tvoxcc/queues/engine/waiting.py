"""The waiting lines: items ordered by (priority, arrival) per (queue, item channel, relaxation stage).

An item waits in the line of the stage its wait has reached, so an agent of tier t reads the heads of
stages t and up; a relax timer moves it one stage on. A sorted list of order keys per (queue, channel)
gives positions and lengths.
"""

from __future__ import annotations

import bisect
import heapq

from tvoxcc.queues.engine.availability import AgentAvailability
from tvoxcc.queues.engine.base import RELAX
from tvoxcc.queues.model import ItemStatus
from tvoxcc.queues.skills import stage_at
from tvoxcc.queues.state import Item, QueueState


class WaitingLines(AgentAvailability):
    def _enter_waiting(self, item: Item, q: QueueState) -> None:
        relax = q.config.relax
        item.status = ItemStatus.WAITING
        item.stage = stage_at(relax, item.queued_at, self._now)
        item.wait_token += 1
        stages = q.waiting.get(item.channel)
        if stages is None:
            stages = q.waiting[item.channel] = [[] for _ in range(q.stages)]
        heapq.heappush(stages[item.stage], (item.key, item.wait_token, item.item_id))
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
        item.wait_token += 1  # its heap entry is now stale
        heap = q.waiting[item.channel][item.stage]
        while heap and heap[0][2] == item.item_id:
            heapq.heappop(heap)  # usually it was the head: drop it now rather than in a later decision
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
