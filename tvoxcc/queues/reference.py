"""A straightforward linear-scan router with the same decision semantics, for tests and the benchmark.

It replaces only the two decisions: instead of the tier indexes and stage heaps it scans every member of
the queue (item -> agent) and every waiting item of the agent's queues (agent -> item), recomputing
eligibility from the raw state: capacity, pause, wrap-up, and skill levels (the queue's merged with the
item's own) against the wait time. The property test runs it side by side with Router and asserts they
decide the same.
"""

from __future__ import annotations

from tvoxcc.queues.model import CAPACITY_CHANNEL, ItemStatus, Strategy
from tvoxcc.queues.router import Router
from tvoxcc.queues.skills import item_levels, qualifies, required_levels, stage_at
from tvoxcc.queues.state import Agent, Item, Member, QueueState
from tvoxcc.queues.strategies import Key


class LinearScanRouter(Router):
    def _required(self, q: QueueState, item: Item) -> dict[str, int]:
        relax = q.config.relax
        levels = item_levels(q.config.skills, item.skills)
        return required_levels(levels, relax, stage_at(relax, item.queued_at, self._now))

    def _tier(self, q: QueueState, agent: Agent) -> int:
        """The first relax stage the agent qualifies at (it does now, so there is one)."""
        relax = q.config.relax
        return next(
            stage
            for stage in range(len(relax) + 1)
            if qualifies(agent.skills, required_levels(q.config.skills, relax, stage))
        )

    def _pick_agents(self, q: QueueState, item: Item) -> list[str]:
        cap = CAPACITY_CHANNEL[item.channel]
        required = self._required(q, item)
        eligible: list[tuple[Member, Agent]] = []
        for member in q.members.values():
            agent = self.agents[member.agent_id]
            if agent.can_take(cap) and qualifies(agent.skills, required):
                eligible.append((member, agent))
        if not eligible:
            return []
        strategy = q.config.strategy
        if strategy is Strategy.RING_ALL:
            # Everyone eligible rings, in a defined order: by the first relax stage the agent qualifies at,
            # then penalty, then position.
            eligible.sort(key=lambda pair: (self._tier(q, pair[1]), pair[0].penalty, pair[0].position))
            fresh = [m.agent_id for m, _ in eligible if m.agent_id not in item.tried]
            return fresh or [m.agent_id for m, _ in eligible]
        untried = [(m, a) for m, a in eligible if m.agent_id not in item.tried] or eligible
        if strategy is Strategy.ROUND_ROBIN:
            after = [m for m, _ in untried if m.position > q.rr_last]
            pool = after or [m for m, _ in untried]
            return [min(pool, key=lambda m: m.position).agent_id]
        if strategy is Strategy.WEIGHTED_RANDOM:
            total = sum(m.weight for m, _ in untried)
            target = int(self.rng.random() * total)
            # One draw over the cumulative weights, laid out by qualifying stage, then position.
            for member, _ in sorted(untried, key=lambda pair: (self._tier(q, pair[1]), pair[0].position)):
                if target < member.weight:
                    return [member.agent_id]
                target -= member.weight
            return []  # pragma: no cover
        best = min(untried, key=lambda pair: q.member_key(pair[0], pair[1]))
        return [best[0].agent_id]

    def _pick_item(self, agent: Agent) -> Item | None:
        best: tuple[Key, Item] | None = None
        for member in agent.members.values():
            q = self.queues[member.queue]
            for item in q.waiting_items.values():
                if item.status is not ItemStatus.WAITING or not agent.can_take(CAPACITY_CHANNEL[item.channel]):
                    continue
                if qualifies(agent.skills, self._required(q, item)) and (best is None or item.key < best[0]):
                    best = (item.key, item)
        return None if best is None else best[1]
