"""Public item actions: enqueue, answer, ring-no-answer, completion (wrap-up), abandon, tick, estimate."""

from __future__ import annotations

from tvoxcc.queues import queue_log
from tvoxcc.queues.engine.base import WRAPUP_END
from tvoxcc.queues.engine.timers import Timers
from tvoxcc.queues.ewt import expected_wait
from tvoxcc.queues.model import (
    CAPACITY_CHANNEL,
    CancelOffer,
    EventKind,
    ItemStatus,
    Outputs,
    RouterError,
    StartWrapup,
    WaitEstimate,
    WorkItem,
)
from tvoxcc.queues.skills import item_levels, qualifies, required_levels
from tvoxcc.queues.state import Agent, Item


class ItemActions(Timers):
    def enqueue(self, work: WorkItem, now: float) -> Outputs:
        out = self._begin(now)
        if work.item_id in self.items:
            raise RouterError(f"item {work.item_id!r} is already queued")
        self._queue(work.queue)
        arrived = now if work.arrived_at is None else work.arrived_at
        item = Item(work.item_id, work.channel, work.contact_priority, work.caller_id, arrived)
        item.callback_number = work.callback_number
        item.skills = dict(work.skills)
        self.items[work.item_id] = item
        self._enter_queue(item, work.queue, hops=0, since=work.queued_at)
        return out

    def accept(self, item_id: str, agent_id: str, now: float, *, bridged_id: str = "") -> Outputs:
        """The agent answered the offer: connect, and cancel the ring on the others (ring-all)."""
        out = self._begin(now)
        item = self._item(item_id)
        offered_at = item.offered_to.get(agent_id) if item.status is ItemStatus.OFFERED else None
        if offered_at is None:
            raise RouterError(f"item {item_id!r} is not ringing agent {agent_id!r}")
        q = self.queues[item.queue]
        cap = CAPACITY_CHANNEL[item.channel]
        others = [a for a in item.offered_to if a != agent_id]
        item.offered_to.clear()
        item.offer_token += 1
        for other_id in others:
            other = self.agents[other_id]
            other.release(cap, item_id)
            other.reserved -= 1
            self._command(CancelOffer(item_id, other_id, "answered-elsewhere"))
            self._event(EventKind.OFFER_CANCELLED, queue=q.config.name, item_id=item_id, agent_id=other_id)
            self._refresh(other)
        agent = self.agents[agent_id]
        agent.reserved -= 1
        agent.connected += 1
        item.status, item.agent_id, item.connected_at = ItemStatus.CONNECTED, agent_id, now
        hold = now - item.queued_at
        self._log(queue_log.connect(now, item_id, q.config.name, agent_id, hold, bridged_id, now - offered_at))
        self._event(EventKind.ITEM_CONNECTED, queue=q.config.name, item_id=item_id, agent_id=agent_id, value=hold)
        self._refresh(agent)
        for other_id in others:
            self._route_agent(self.agents[other_id])
        return out

    def ring_no_answer(self, item_id: str, agent_id: str, now: float) -> Outputs:
        """The agent did not answer (or declined); a stale report (already answered elsewhere) is ignored."""
        out = self._begin(now)
        item = self._item(item_id)
        if item.status is ItemStatus.OFFERED and agent_id in item.offered_to:
            self._rona(item, agent_id)
        return out

    def complete(self, item_id: str, now: float, *, by_caller: bool = False) -> Outputs:
        out = self._begin(now)
        item = self._item(item_id)
        if item.status is not ItemStatus.CONNECTED or item.agent_id is None:
            raise RouterError(f"item {item_id!r} is not connected")
        q = self.queues[item.queue]
        config = q.config
        agent = self.agents[item.agent_id]
        talk = now - item.connected_at
        self._log(
            queue_log.complete(
                now,
                item_id,
                config.name,
                agent.agent_id,
                by_caller,
                item.connected_at - item.queued_at,
                talk,
                item.orig_position,
            )
        )
        self._event(
            EventKind.ITEM_COMPLETED,
            queue=config.name,
            item_id=item_id,
            agent_id=agent.agent_id,
            detail="caller" if by_caller else "agent",
            value=talk,
        )
        q.handle_time.add(talk + config.wrapup_s)
        self._forget(item)
        agent.release(CAPACITY_CHANNEL[item.channel], item.item_id)
        agent.connected -= 1
        agent.handled += 1
        agent.idle_since = now
        member = agent.members.get(config.name)
        if member is not None:
            member.handled += 1
        if config.wrapup_s > 0:
            agent.wrapup_until = max(agent.wrapup_until, now + config.wrapup_s)
            agent.wrapup_token += 1
            self._command(StartWrapup(agent.agent_id, agent.wrapup_until, now))
            self._timer(agent.wrapup_until, WRAPUP_END, agent.agent_id, agent.wrapup_token)
        self._refresh(agent, rekey=True)
        self._route_agent(agent)
        return out

    def abandon(self, item_id: str, now: float) -> Outputs:
        """The customer left while waiting or ringing, or a callback was cancelled (even while dialled)."""
        out = self._begin(now)
        item = self._item(item_id)
        q = self.queues[item.queue]
        released: list[Agent] = []
        if item.status is ItemStatus.WAITING:
            self._leave_waiting(item, q)
        elif item.status is ItemStatus.OFFERED:
            released = self._cancel_offers(item, "abandoned")
        elif item.status is ItemStatus.DIALING and item.agent_id is not None:
            agent = self._unreserve(item)
            self._refresh(agent)
            released = [agent]
        elif item.status is not ItemStatus.CALLBACK_PENDING:
            raise RouterError(f"item {item_id!r} is {item.status}, not waiting")
        wait = now - item.queued_at
        self._log(queue_log.left_queue(now, item_id, q.config.name, "ABANDON", item.position, item.orig_position, wait))
        self._event(EventKind.ITEM_ABANDONED, queue=q.config.name, item_id=item_id, value=wait)
        self._forget(item)
        for agent in released:
            self._route_agent(agent)
        return out

    def tick(self, now: float) -> Outputs:
        """Fire due timers: relaxation, overflow, max wait, ring timeouts, wrap-up ends, callback retries."""
        return self._begin(now)

    def estimate(self, item_id: str) -> WaitEstimate:
        item = self._item(item_id)
        q = self.queues[item.queue]
        position = q.position_of(item.channel, item.key) if item.status is ItemStatus.WAITING else 1
        cap = CAPACITY_CHANNEL[item.channel]
        # Who can ever serve it: members that qualify once every relax rule is in force, for its own levels.
        levels = item_levels(q.config.skills, item.skills) if item.skills else None
        relax = q.config.relax
        servers = 0
        for member in q.members.values():
            agent = self.agents[member.agent_id]
            if member.tier is None or not agent.logged_in or agent.pause_code is not None:
                continue
            if levels is None or qualifies(agent.skills, required_levels(levels, relax, len(relax))):
                servers += agent.capacity.get(cap, 0)
        handle = q.handle_time.value
        return WaitEstimate(position, expected_wait(position, handle, servers), servers, handle)
