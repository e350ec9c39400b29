"""Timers: every public call first fires the timers due by its ``now``, in a fixed order.

Relaxation stages go first: a stage is a function of time, so every decision taken while the other timers
fire (an agent freed by a RONA picking an item…) must already see all stages due by now.
"""

from __future__ import annotations

import heapq

from tvoxcc.queues.engine.base import CALLBACK_RETRY, OFFER_TIMEOUT, RELAX, WRAPUP_END, Timer
from tvoxcc.queues.engine.overflow import OverflowRules
from tvoxcc.queues.model import EndWrapup, EventKind, ItemStatus, Outputs, RouterError
from tvoxcc.queues.state import Agent, Item


class Timers(OverflowRules):
    def _begin(self, now: float) -> Outputs:
        """Open the Outputs of a public call at ``now`` and fire the timers due by then."""
        out = Outputs()
        self._out = out
        if now < self._now:
            raise RouterError(f"time went backwards: {now} < {self._now}")
        self._now = now
        if self._timers and self._timers[0][0] <= now:
            self._run_timers(now)
        return out

    def _run_timers(self, now: float) -> None:
        timers = self._timers
        while timers and timers[0][0] <= now:
            due: list[Timer] = []
            while timers and timers[0][0] <= now:
                due.append(heapq.heappop(timers))
            relaxed: list[Item] = []
            for _, _, kind, ref, token, _ in due:
                item = self.items.get(ref) if kind == RELAX else None
                if item is not None and item.wait_token == token:
                    q = self.queues[item.queue]
                    self._leave_waiting(item, q)
                    self._enter_waiting(item, q)
                    self._event(EventKind.ITEM_RELAXED, queue=item.queue, item_id=item.item_id, value=item.stage)
                    relaxed.append(item)
            for timer in due:
                if timer[2] != RELAX:
                    self._fire(timer)
            for item in relaxed:
                if item.status is ItemStatus.WAITING:
                    self._route_item(item)

    def _fire(self, timer: Timer) -> None:
        _, _, kind, ref, token, extra = timer
        if kind == WRAPUP_END:
            agent = self.agents.get(ref)
            if agent is not None and agent.wrapup_token == token and agent.wrapup_until:
                self._wrapup_over(agent)
            return
        item = self.items.get(ref)
        if item is None:
            return
        if kind == OFFER_TIMEOUT:
            if item.offer_token == token and item.status is ItemStatus.OFFERED:
                for agent_id in list(item.offered_to):
                    if item.offer_token != token:
                        break  # the last RONA re-offered the item: a new ring with its own timer
                    self._rona(item, agent_id)
        elif kind == CALLBACK_RETRY:
            if item.queue_token == token and item.status is ItemStatus.CALLBACK_PENDING:
                self._enter_waiting(item, self.queues[item.queue])
                self._event(EventKind.ITEM_REQUEUED, queue=item.queue, item_id=item.item_id)  # its retry is due
                self._route_item(item)
        elif item.queue_token == token:
            self._wait_timer(item, kind, token, extra)

    def _wrapup_over(self, agent: Agent) -> None:
        agent.wrapup_until = 0.0
        agent.wrapup_token += 1
        self._command(EndWrapup(agent.agent_id))
        self._refresh(agent)
        self._route_agent(agent)
