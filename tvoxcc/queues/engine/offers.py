"""Offers: ringing the chosen agents, cancelling the other rings, ring-no-answer (RONA), routing loops.

An offer takes the agent's capacity for the item at once (a ringing voice call already blocks mail), so
capacity and availability never lag behind what the adapters were told.
"""

from __future__ import annotations

from tvoxcc.queues import queue_log
from tvoxcc.queues.engine.base import OFFER_TIMEOUT
from tvoxcc.queues.engine.decisions import Decisions
from tvoxcc.queues.model import (
    CAPACITY_CHANNEL,
    CancelOffer,
    Channel,
    EventKind,
    ItemStatus,
    Offer,
    PauseAgent,
    PlaceCallback,
)
from tvoxcc.queues.state import Agent, Item, QueueState


class Offers(Decisions):
    def _route_item(self, item: Item) -> None:
        q = self.queues[item.queue]
        chosen = self._pick_agents(q, item)
        if chosen:
            self._offer(item, q, chosen)

    def _route_agent(self, agent: Agent) -> None:
        while agent.available:
            item = self._pick_item(agent)
            if item is None:
                return
            self._offer(item, self.queues[item.queue], [agent.agent_id])

    def _offer(self, item: Item, q: QueueState, agent_ids: list[str]) -> None:
        self._leave_waiting(item, q)
        cap = CAPACITY_CHANNEL[item.channel]
        if item.channel is Channel.CALLBACK:
            # Reserve one agent while the customer's phone rings; ring the agent once they answer.
            agent = self.agents[agent_ids[0]]
            agent.take(cap, item.item_id)
            agent.reserved += 1
            item.status, item.agent_id = ItemStatus.DIALING, agent.agent_id
            self._command(PlaceCallback(item.item_id, agent.agent_id, q.config.name, item.callback_number))
            self._event(EventKind.CALLBACK_PLACED, queue=q.config.name, item_id=item.item_id, agent_id=agent.agent_id)
            q.rr_last = agent.members[q.config.name].position
            self._refresh(agent)
            return
        for agent_id in agent_ids:
            agent = self.agents[agent_id]
            agent.take(cap, item.item_id)
            agent.reserved += 1
        self._ring(item, q, *agent_ids)
        q.rr_last = self.agents[agent_ids[-1]].members[q.config.name].position

    def _ring(self, item: Item, q: QueueState, *agent_ids: str) -> None:
        """Offer to agents whose capacity is already taken for the item; arm the ring timeout."""
        now, config = self._now, q.config
        item.status = ItemStatus.OFFERED
        item.offer_token += 1
        item.offered_at = now
        item.offer_deadline = now + config.ring_timeout_s
        for agent_id in agent_ids:
            item.offered_to[agent_id] = now
            self._command(Offer(item.item_id, agent_id, config.name, item.channel, config.ring_timeout_s))
            self._event(EventKind.ITEM_OFFERED, queue=config.name, item_id=item.item_id, agent_id=agent_id)
            self._refresh(self.agents[agent_id])
        self._timer(item.offer_deadline, OFFER_TIMEOUT, item.item_id, item.offer_token)

    def _rona(self, item: Item, agent_id: str) -> None:
        now = self._now
        q = self.queues[item.queue]
        config = q.config
        agent = self.agents[agent_id]
        offered_at = item.offered_to.pop(agent_id)
        agent.release(CAPACITY_CHANNEL[item.channel], item.item_id)
        agent.reserved -= 1
        item.tried.add(agent_id)
        self._log(queue_log.ring_no_answer(now, item.item_id, config.name, agent_id, now - offered_at))
        self._event(EventKind.RING_NO_ANSWER, queue=config.name, item_id=item.item_id, agent_id=agent_id)
        if config.rona_pause and agent.pause_code is None:
            self._command(PauseAgent(agent_id, config.rona_pause_code))
            self._pause(agent, config.rona_pause_code)
        else:
            self._refresh(agent)
        if not item.offered_to:
            item.offer_token += 1
            if item.channel is Channel.CALLBACK:
                item.channel = Channel.VOICE  # the customer is on the line now: a call like any other
            self._enter_waiting(item, q)
            self._event(EventKind.ITEM_REQUEUED, queue=config.name, item_id=item.item_id)
            self._route_item(item)
        self._route_agent(agent)

    def _unreserve(self, item: Item) -> Agent:
        """Free the agent reserved for a callback being dialled (it failed, or was cancelled)."""
        assert item.agent_id is not None
        agent = self.agents[item.agent_id]
        agent.release(CAPACITY_CHANNEL[item.channel], item.item_id)
        agent.reserved -= 1
        item.agent_id = None
        return agent

    def _cancel_offers(self, item: Item, reason: str) -> list[Agent]:
        cap = CAPACITY_CHANNEL[item.channel]
        released = []
        for agent_id in item.offered_to:
            agent = self.agents[agent_id]
            agent.release(cap, item.item_id)
            agent.reserved -= 1
            self._command(CancelOffer(item.item_id, agent_id, reason))
            self._event(EventKind.OFFER_CANCELLED, queue=item.queue, item_id=item.item_id, agent_id=agent_id)
            self._refresh(agent)
            released.append(agent)
        item.offered_to.clear()
        item.offer_token += 1
        return released
