"""Public configuration actions: queues, agents, memberships, skills and capacity, all live (no reload)."""

from __future__ import annotations

from collections.abc import Mapping

from tvoxcc.queues import queue_log
from tvoxcc.queues.engine.timers import Timers
from tvoxcc.queues.model import AgentConfig, Channel, EventKind, ItemStatus, Outputs, QueueConfig, RouterError
from tvoxcc.queues.state import Agent, Member, QueueState


class Configuration(Timers):
    def add_queue(self, config: QueueConfig, now: float) -> Outputs:
        out = self._begin(now)
        if config.name in self.queues:
            raise RouterError(f"queue {config.name!r} already exists")
        self.queues[config.name] = QueueState(config, self.handle_time_s)
        return out

    def update_queue(self, config: QueueConfig, now: float) -> Outputs:
        """Live reconfiguration: tiers, indexes and waiting items are rebuilt for this queue only."""
        out = self._begin(now)
        q = self._queue(config.name)
        waiting = list(q.waiting_items.values())
        for item in waiting:
            self._leave_waiting(item, q)
        q.config = config
        q.agents.clear()
        q.waiting.clear()
        q.narrowed.clear()
        # Every tier first: filing the first member builds the indexes from all members' tiers, which must
        # already be the new ones (an old tier may not even exist any more when the relax rules changed).
        for member in q.members.values():
            member.tier = q.compute_tier(self.agents[member.agent_id].skills)
        for member in q.members.values():
            self._file_member(q, member, self.agents[member.agent_id])
        for item in waiting:
            item.queue_token += 1
            item.key = (-q.effective_priority(item.channel, item.contact_priority), item.arrived_at, item.key[2])
            self._enter_waiting(item, q)
            self._arm_wait_timers(item, q)
        for item in waiting:
            if item.status is ItemStatus.WAITING:
                self._route_item(item)
        for member in list(q.members.values()):
            self._route_agent(self.agents[member.agent_id])
        return out

    def add_agent(self, config: AgentConfig, now: float) -> Outputs:
        out = self._begin(now)
        if config.agent_id in self.agents:
            raise RouterError(f"agent {config.agent_id!r} already exists")
        self.agents[config.agent_id] = Agent(config)
        return out

    def add_member(self, agent_id: str, queue: str, now: float, *, penalty: int = 0, weight: int = 1) -> Outputs:
        out = self._begin(now)
        agent, q = self._agent(agent_id), self._queue(queue)
        if queue in agent.members:
            raise RouterError(f"agent {agent_id!r} is already a member of {queue!r}")
        member = Member(queue, agent_id, penalty, weight, q.next_position)
        q.next_position += 1
        member.tier = q.compute_tier(agent.skills)
        agent.members[queue] = member
        q.members[agent_id] = member
        if agent.logged_in:
            q.logged_in += 1
        self._file_member(q, member, agent)
        self._log(queue_log.member(now, queue, agent_id, added=True))
        self._event(EventKind.MEMBER_ADDED, queue=queue, agent_id=agent_id)
        self._route_agent(agent)
        return out

    def remove_member(self, agent_id: str, queue: str, now: float) -> Outputs:
        out = self._begin(now)
        agent, q = self._agent(agent_id), self._queue(queue)
        member = agent.members.pop(queue, None)
        if member is None:
            raise RouterError(f"agent {agent_id!r} is not a member of {queue!r}")
        del q.members[agent_id]
        self._unfile_member(q, member)
        self._log(queue_log.member(now, queue, agent_id, added=False))
        self._event(EventKind.MEMBER_REMOVED, queue=queue, agent_id=agent_id)
        if agent.logged_in:
            q.logged_in -= 1
            if q.logged_in == 0:
                self._queue_emptied(q)
        return out

    def set_skill(self, agent_id: str, skill: str, level: int | None, now: float) -> Outputs:
        """Set (or with None remove) a skill; only the memberships of queues that ask for it are re-tiered."""
        out = self._begin(now)
        agent = self._agent(agent_id)
        if level is None:
            agent.skills.pop(skill, None)
        else:
            agent.skills[skill] = level
        self._event(EventKind.SKILL_CHANGED, agent_id=agent_id, detail=skill, value=level)
        for member in agent.members.values():
            q = self.queues[member.queue]
            if skill in q.config.skills:
                tier = q.compute_tier(agent.skills)
                if tier != member.tier:
                    self._unfile_member(q, member)
                    member.tier = tier
                    self._file_member(q, member, agent)
        self._route_agent(agent)
        return out

    def set_capacity(
        self, agent_id: str, capacity: Mapping[Channel, int], now: float, *, voice_blocks_others: bool | None = None
    ) -> Outputs:
        out = self._begin(now)
        agent = self._agent(agent_id)
        agent.capacity = dict(capacity)
        if voice_blocks_others is not None:
            agent.voice_blocks_others = voice_blocks_others
        for member in agent.members.values():
            self._file_member(self.queues[member.queue], member, agent)
        self._event(EventKind.CAPACITY_CHANGED, agent_id=agent_id, detail=repr(sorted(agent.capacity.items())))
        self._refresh(agent)
        self._route_agent(agent)
        return out
