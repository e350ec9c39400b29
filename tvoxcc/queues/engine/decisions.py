"""The two routing decisions; tvoxcc.queues.reference overrides both with linear scans.

Neither scans agents or items:
- an item looking for agents reads the heads of the agent indexes of its capacity channel for tiers
  0..its stage (tvoxcc.queues.strategies);
- an agent looking for an item reads, for each of its queues that has items waiting and each capacity
  channel it has room on, the best waiting entry among the stages its tier qualifies for.
Items whose own skills ask more than their queue (item.needs) are the exception, paid for by them alone:
such an item filters the agents of its tiers by its levels, and a freed agent walks a queue's narrowed
line (only when one waits) to the first item it qualifies for.
"""

from __future__ import annotations

from tvoxcc.queues.engine.waiting import WaitingLines
from tvoxcc.queues.lines import WaitEntry
from tvoxcc.queues.model import CAPACITY_CHANNEL, Strategy
from tvoxcc.queues.skills import qualifies
from tvoxcc.queues.state import Agent, Item, QueueState
from tvoxcc.queues.strategies import AgentIndex, all_agents, select_agent

NOBODY: frozenset[str] = frozenset()


class Decisions(WaitingLines):
    def _pick_agents(self, q: QueueState, item: Item) -> list[str]:
        all_tiers = q.agents.get(CAPACITY_CHANNEL[item.channel])
        if all_tiers is None:
            return []  # no member has capacity on this channel
        tiers = all_tiers[: item.stage + 1]
        if item.needs is None:
            unfit, tried = NOBODY, item.tried
        else:
            unfit = self._unfit(tiers, item.needs)
            tried = item.tried | unfit
        if q.config.strategy is Strategy.RING_ALL:
            return all_agents(tiers, tried) or all_agents(tiers, unfit)
        chosen = select_agent(tiers, q.rr_last, self.rng, tried)
        if chosen is None and item.tried:
            # Everyone else is busy: ringing the one who just did not answer again beats not ringing at all.
            chosen = select_agent(tiers, q.rr_last, self.rng, unfit)
        return [] if chosen is None else [chosen]

    def _unfit(self, tiers: list[AgentIndex], needs: dict[str, int]) -> frozenset[str]:
        """The agents of the tiers who lack the levels an item asks beyond its queue's."""
        agents = self.agents
        return frozenset(a for index in tiers for a in index if not qualifies(agents[a].skills, needs))

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
            waiting, narrowed = q.waiting, q.narrowed
            for cap in available:
                lines = waiting.get(cap)
                if lines is not None:
                    head = lines.best_from[tier]
                    if head is not None and (best is None or head[0] < best[0]):
                        best = head
                if narrowed and cap in narrowed:
                    best = self._first_fit(agent, narrowed[cap], best)
        return None if best is None else self.items[best[1]]

    def _first_fit(self, agent: Agent, narrowed: list[WaitEntry], best: WaitEntry | None) -> WaitEntry | None:
        """The first narrowed item the agent has the levels for, if it goes before ``best``; else ``best``.

        Qualifying for an item's levels at its stage implies the agent's tier in the queue is within that
        stage (the item's levels are never below the queue's), so the levels are the whole test.
        """
        items, skills = self.items, agent.skills
        for entry in narrowed:
            if best is not None and best[0] < entry[0]:
                break
            needs = items[entry[1]].needs
            assert needs is not None
            if qualifies(skills, needs):
                return entry
        return best
