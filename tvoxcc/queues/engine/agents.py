"""Public agent actions: login, logout, pause with an activity code, unpause, wrap-up, pull, status."""

from __future__ import annotations

from tvoxcc.queues import queue_log
from tvoxcc.queues.engine.timers import Timers
from tvoxcc.queues.model import CAPACITY_CHANNEL, AgentStatus, Channel, EventKind, Outputs, RouterError


class AgentActions(Timers):
    def login(self, agent_id: str, now: float, *, interface: str = "") -> Outputs:
        out = self._begin(now)
        agent = self._agent(agent_id)
        if agent.logged_in:
            return out
        agent.logged_in, agent.login_at, agent.idle_since, agent.interface = True, now, now, interface
        for member in agent.members.values():
            self.queues[member.queue].logged_in += 1
        self._log(queue_log.agent_login(now, agent_id, interface))
        self._event(EventKind.AGENT_LOGGED_IN, agent_id=agent_id, detail=interface)
        self._refresh(agent, rekey=True)
        self._route_agent(agent)
        return out

    def logout(self, agent_id: str, now: float) -> Outputs:
        out = self._begin(now)
        agent = self._agent(agent_id)
        if not agent.logged_in:
            return out
        if agent.connected or agent.reserved:
            raise RouterError(f"agent {agent_id!r} cannot log out with items in hand")
        agent.logged_in, agent.pause_code, agent.wrapup_until = False, None, 0.0
        agent.wrapup_token += 1
        self._log(queue_log.agent_logoff(now, agent_id, agent.interface, now - agent.login_at))
        self._event(EventKind.AGENT_LOGGED_OUT, agent_id=agent_id, value=now - agent.login_at)
        self._refresh(agent)
        for member in agent.members.values():
            q = self.queues[member.queue]
            q.logged_in -= 1
            if q.logged_in == 0:
                self._queue_emptied(q)
        return out

    def pause(self, agent_id: str, now: float, code: str) -> Outputs:
        """Pause with an activity code (lunch, training, RONA…); no new offers until unpaused."""
        out = self._begin(now)
        agent = self._agent(agent_id)
        if not agent.logged_in:
            raise RouterError(f"agent {agent_id!r} is logged out")
        self._pause(agent, code)
        return out

    def unpause(self, agent_id: str, now: float) -> Outputs:
        out = self._begin(now)
        agent = self._agent(agent_id)
        if agent.pause_code is None:
            return out
        agent.pause_code = None
        for queue in agent.members:
            self._log(queue_log.pause(now, queue, agent_id, paused=False, reason=""))
        self._event(EventKind.AGENT_UNPAUSED, agent_id=agent_id)
        self._refresh(agent)
        self._route_agent(agent)
        return out

    def end_wrapup(self, agent_id: str, now: float) -> Outputs:
        out = self._begin(now)
        agent = self._agent(agent_id)
        if agent.wrapup_until:
            self._wrapup_over(agent)
        return out

    def pull(self, agent_id: str, channel: Channel, now: float) -> Outputs:
        """The agent asks for their next item on ``channel`` (a support agent's "next ticket"), even while
        paused or in wrap-up: the item their queues and skills would give them first is offered to them, if
        one waits and they have room on its capacity channel. Nothing waiting for them: no command.
        """
        out = self._begin(now)
        agent = self._agent(agent_id)
        if not agent.logged_in:
            raise RouterError(f"agent {agent_id!r} is logged out")
        cap = CAPACITY_CHANNEL[channel]
        in_use, capacity = agent.load.get(cap, 0), agent.capacity.get(cap, 0)
        if in_use >= capacity:
            raise RouterError(f"agent {agent_id!r} has no room on {cap} ({in_use} of {capacity} in use)")
        # The agent -> item decision reads the channels the agent is filed under: this one, for this once.
        filed = agent.available
        agent.available = frozenset({cap})
        try:
            item = self._pick_item(agent)
        finally:
            agent.available = filed
        if item is not None and item.channel is channel:
            self._offer(item, self.queues[item.queue], [agent_id])
        return out

    def agent_status(self, agent_id: str) -> AgentStatus:
        return self._agent(agent_id).status
