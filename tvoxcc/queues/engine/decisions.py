"""The two routing decisions; tvoxcc.queues.reference overrides both with linear scans.

Neither scans agents or items:
- an item looking for agents reads the heads of the agent indexes of its capacity channel for tiers
  0..its stage (tvoxcc.queues.strategies);
- an agent looking for an item reads the heads of the waiting lines of stages >= its tier, for each of
  its queues and the item channels it has room on.
"""

from __future__ import annotations

import heapq

from tvoxcc.queues.engine.waiting import WaitingLines
from tvoxcc.queues.model import CAPACITY_CHANNEL, ITEM_CHANNELS, Strategy
from tvoxcc.queues.state import Agent, Item, QueueState, WaitEntry
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
        best: WaitEntry | None = None
        items = self.items
        available = agent.available
        for member in agent.members.values():
            tier = member.tier
            if tier is None:
                continue
            waiting = self.queues[member.queue].waiting
            if not waiting:
                continue
            for cap in available:
                for channel in ITEM_CHANNELS[cap]:
                    stages = waiting.get(channel)
                    if stages is None:
                        continue
                    for stage in range(tier, len(stages)):
                        heap = stages[stage]
                        # Inlined head-of-heap with lazy deletion: this loop is the hot path of a freed agent.
                        while heap:
                            entry = heap[0]
                            item = items.get(entry[2])
                            if item is not None and item.wait_token == entry[1]:
                                if best is None or entry[0] < best[0]:
                                    best = entry
                                break
                            heapq.heappop(heap)
        return None if best is None else items[best[2]]
