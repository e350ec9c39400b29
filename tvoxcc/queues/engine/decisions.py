"""The two routing decisions; tvoxcc.queues.reference overrides both with linear scans.

Neither scans agents or items:
- an item looking for agents reads the heads of the agent indexes of its capacity channel for tiers
  0..its stage (tvoxcc.queues.strategies);
- an agent looking for an item reads, for each of its queues that has items waiting and each capacity
  channel it has room on, the best waiting entry among the stages its tier qualifies for.
"""

from __future__ import annotations

from tvoxcc.queues.engine.waiting import WaitingLines
from tvoxcc.queues.lines import WaitEntry
from tvoxcc.queues.model import CAPACITY_CHANNEL, Strategy
from tvoxcc.queues.state import Agent, Item, QueueState
from tvoxcc.queues.strategies import all_agents, select_agent


class Decisions(WaitingLines):
    def _pick_agents(self, q: QueueState, item: Item) -> list[str]:
        all_tiers = q.agents.get(CAPACITY_CHANNEL[item.channel])
        if all_tiers is None:
            return []  # no member has capacity on this channel
        tiers = all_tiers[: item.stage + 1]
        if q.config.strategy is Strategy.RING_ALL:
            return all_agents(tiers, item.tried) or all_agents(tiers, ())
        chosen = select_agent(tiers, q.rr_last, self.rng, item.tried)
        if chosen is None and item.tried:
            # Everyone else is busy: ringing the one who just did not answer again beats not ringing at all.
            chosen = select_agent(tiers, q.rr_last, self.rng, ())
        return [] if chosen is None else [chosen]

    def _pick_item(self, agent: Agent) -> Item | None:
        # The hot path of a freed agent: at a given moment most queues have nobody waiting, so such a queue
        # costs one check; any other costs one read per capacity channel with room (the best entry its tier
        # may take, kept by the lines).
        best: WaitEntry | None = None
        queues = self.queues
        available = agent.available
        for member in agent.members.values():
            tier = member.tier
            if tier is None:
                continue
            q = queues[member.queue]
            if not q.waiting_items:
                continue
            waiting = q.waiting
            for cap in available:
                lines = waiting.get(cap)
                if lines is not None:
                    head = lines.best_from[tier]
                    if head is not None and (best is None or head[0] < best[0]):
                        best = head
        return None if best is None else self.items[best[1]]
