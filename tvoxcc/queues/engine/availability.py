"""Which agents can take what: the per-(queue, capacity channel, tier) agent indexes, kept current.

An agent is re-filed only on its own state changes (load, pause, wrap-up, login, strategy key), so the
item -> agent decision reads index heads and never scans members.
"""

from __future__ import annotations

from tvoxcc.queues import queue_log
from tvoxcc.queues.engine.base import RouterBase
from tvoxcc.queues.model import EventKind
from tvoxcc.queues.state import Agent, Member, QueueState


class AgentAvailability(RouterBase):
    def _refresh(self, agent: Agent, *, rekey: bool = False) -> None:
        """Re-file the agent in its queues' indexes after a change of load, state or strategy key."""
        new = agent.takeable()
        old = agent.available
        if new != old or rekey:
            agent.available = new
            agent_id = agent.agent_id
            for member in agent.members.values():
                tier = member.tier
                if tier is None:
                    continue
                q = self.queues[member.queue]
                for channel, tiers in q.agents.items():
                    if channel in new:
                        if rekey or channel not in old:
                            tiers[tier].put(agent_id, q.member_key(member, agent), member.position, member.weight)
                    elif channel in old:
                        tiers[tier].discard(agent_id)
        status = agent.derived_status()
        if status is not agent.status:
            agent.status = status
            self._event(EventKind.AGENT_STATUS, agent_id=agent.agent_id, detail=status)

    def _file_member(self, q: QueueState, member: Member, agent: Agent) -> None:
        # An index exists for every capacity channel some member has: it is built when the first such
        # member joins, never on the decision path.
        for channel, capacity in agent.capacity.items():
            if capacity > 0 and channel not in q.agents:
                q.agent_tiers(channel, self.agents)
        if member.tier is None:
            return
        for channel, tiers in q.agents.items():
            if channel in agent.available:
                tiers[member.tier].put(agent.agent_id, q.member_key(member, agent), member.position, member.weight)

    def _unfile_member(self, q: QueueState, member: Member) -> None:
        if member.tier is None:
            return
        for tiers in q.agents.values():
            tiers[member.tier].discard(member.agent_id)

    def _pause(self, agent: Agent, code: str) -> None:
        agent.pause_code = code
        for queue in agent.members:
            self._log(queue_log.pause(self._now, queue, agent.agent_id, paused=True, reason=code))
        self._event(EventKind.AGENT_PAUSED, agent_id=agent.agent_id, detail=code)
        self._refresh(agent)
