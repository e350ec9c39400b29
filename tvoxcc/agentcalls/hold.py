"""The one ACD holds an agent while a call of their own lasts: no queue offer reaches them meanwhile.

Holding is a pause with the ``outbound-call`` code (a router fact: the wallboard shows it, Insight counts its
time), taken only from an agent the ACD could offer a call to, and given back only if it is still that pause:
a pause the agent chose since (or before) stays theirs. Uses the ACD's public requests and views only.
"""

from __future__ import annotations

import logging

from tvoxcc.acd import AcdService, NotRouting
from tvoxcc.queues import model as q

log = logging.getLogger(__name__)

OUTBOUND_PAUSE = "outbound-call"


class AgentHold:
    def __init__(self, acd: AcdService) -> None:
        self.acd = acd

    def busy(self, agent: str) -> bool:
        """On an ACD call already (a second line of their phone must not start another)."""
        state = self._state(agent)
        return state is not None and state[0] is q.AgentStatus.BUSY

    def hold(self, agent: str) -> bool:
        """Pause an agent the ACD could offer a call to; True when this did (and so must give them back)."""
        state = self._state(agent)
        if state is None or state[0] in (q.AgentStatus.LOGGED_OUT, q.AgentStatus.PAUSED):
            return False  # no offer can reach them anyway (and a pause of their own stays theirs)
        try:
            self.acd.pause(agent, OUTBOUND_PAUSE)
        except (q.RouterError, NotRouting) as exc:
            log.warning("agent calls: cannot hold %s in the ACD: %s", agent, exc)
            return False
        return True

    def release(self, agent: str) -> bool:
        """Unpause an agent this hold paused; True when it did."""
        if self._state(agent) != (q.AgentStatus.PAUSED, OUTBOUND_PAUSE):
            return False  # paused since by hand (or logged out): theirs
        try:
            self.acd.unpause(agent)
        except (q.RouterError, NotRouting) as exc:
            log.warning("agent calls: cannot give %s back to the ACD: %s", agent, exc)
            return False
        return True

    def release_all(self) -> list[str]:
        """Give back every agent still held (a previous run stopped during their calls); returns who."""
        try:
            held = [a for a in self.acd.agent_ids() if self._state(a) == (q.AgentStatus.PAUSED, OUTBOUND_PAUSE)]
        except NotRouting:
            return []
        return [agent for agent in held if self.release(agent)]

    def _state(self, agent: str) -> tuple[q.AgentStatus, str | None] | None:
        try:
            return self.acd.agent_state(agent) if self.acd.has_agent(agent) else None
        except NotRouting:
            return None
