"""Public read-only queries: frozen views of agents, items and queues (tvoxcc.queues.views), and small lookups.

Nothing outside tvoxcc.queues reads the runtime state; these copy what it may see. ``view()`` is one pass
over everything (a wallboard snapshot, a restore, a status listing); the per-entity views copy one entity
(the ACD service takes them for what each decision touched).
"""

from __future__ import annotations

from tvoxcc.queues.engine.timers import Timers
from tvoxcc.queues.model import AgentStatus, Channel, ItemStatus
from tvoxcc.queues.state import Agent, Item, QueueState
from tvoxcc.queues.views import AgentView, ItemView, MemberView, QueueView, RouterView


class Queries(Timers):
    def view(self) -> RouterView:
        return RouterView(
            self._now,
            {name: _queue_view(q) for name, q in self.queues.items()},
            {agent_id: self._agent_view(agent) for agent_id, agent in self.agents.items()},
            {item_id: _item_view(item) for item_id, item in self.items.items()},
        )

    def agent_view(self, agent_id: str) -> AgentView | None:
        agent = self.agents.get(agent_id)
        return None if agent is None else self._agent_view(agent)

    def item_view(self, item_id: str) -> ItemView | None:
        item = self.items.get(item_id)
        return None if item is None else _item_view(item)

    def queue_view(self, name: str) -> QueueView | None:
        q = self.queues.get(name)
        return None if q is None else _queue_view(q)

    def agent_state(self, agent_id: str) -> tuple[AgentStatus, str | None] | None:
        """An agent's status and pause code (None: no such agent), without building its whole view."""
        agent = self.agents.get(agent_id)
        return None if agent is None else (agent.status, agent.pause_code)

    def has_agent(self, agent_id: str) -> bool:
        return agent_id in self.agents

    def has_item(self, item_id: str) -> bool:
        return item_id in self.items

    def agent_ids(self) -> list[str]:
        return list(self.agents)

    def queue_names(self) -> list[str]:
        return list(self.queues)

    def item_ids(self) -> list[str]:
        return list(self.items)

    def next_timer_at(self) -> float | None:
        """When the earliest armed timer is due (it may be stale: then a tick at that time does nothing)."""
        return self._timers[0][0] if self._timers else None

    def _agent_view(self, agent: Agent) -> AgentView:
        offered: list[str] = []
        connected: list[str] = []
        for item_id in agent.in_hand:
            (connected if self.items[item_id].status is ItemStatus.CONNECTED else offered).append(item_id)
        return AgentView(
            agent.agent_id,
            dict(agent.capacity),
            agent.voice_blocks_others,
            dict(agent.skills),
            tuple(
                MemberView(m.queue, m.penalty, m.weight, m.position, m.handled, m.tier)
                for m in sorted(agent.members.values(), key=lambda m: m.queue)
            ),
            agent.logged_in,
            agent.pause_code,
            agent.wrapup_until,
            agent.login_at,
            agent.idle_since,
            agent.interface,
            agent.handled,
            AgentStatus(agent.status),
            {ch: n for ch, n in agent.load.items() if n},
            tuple(sorted(offered)),
            tuple(sorted(connected)),
        )


def _item_view(item: Item) -> ItemView:
    return ItemView(
        item.item_id,
        item.queue,
        item.channel,
        item.status,
        item.arrived_at,
        item.queued_at,
        int(item.key[2]),
        item.contact_priority,
        item.caller_id,
        item.callback_number,
        dict(item.skills),
        tuple(sorted(item.offered_to)),
        item.agent_id,
        item.connected_at,
        tuple(sorted(item.tried)),
        item.callback_attempts,
        item.retry_at,
        item.orig_position,
        int(-item.key[0]),  # the priority it is ordered by (a callback keeps the call's)
        item.stage,
    )


def _queue_view(q: QueueState) -> QueueView:
    waiting = {Channel(ch): len(keys) for ch, keys in q.order.items() if keys}
    return QueueView(q.config.name, q.config, q.rr_last, q.next_position, q.logged_in, waiting)
