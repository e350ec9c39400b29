"""Agents in the ACD: an agent phone's reachability (ARI endpoint state) logs it in or out, and the FastAGI
feature codes (tvoxcc.agi.routes.agent) log agents in, out and pause them by hand.
"""

from __future__ import annotations

import contextlib
import logging

from tvoxcc.agi.routes.agent import AgentRefused
from tvoxcc.ari import AriError
from tvoxcc.queues import model as q
from tvoxcc.voice.acd_callbacks import AcdCallbacks
from tvoxcc.voice.presence import PresenceChange, presence_change

log = logging.getLogger(__name__)


class AcdAgents(AcdCallbacks):
    """Agent phones followed, and agents' own requests."""

    async def on_endpoint(self, resource: str, state: str) -> None:
        """Asterisk reported an agent phone registered (online) or gone away (offline): an event."""
        self.presence_reports.report(resource)
        self._take_endpoint(resource, state)

    def _take_endpoint(self, resource: str, state: str) -> None:
        """An agent phone's state, from an event or a listing.

        Asterisk also reports an endpoint's state when its channels change (a feature code call): only a
        change of state logs the agent in or out, so *72 is not undone by the phone's next call.
        """
        if not self.service.has_agent(resource):
            return
        change = presence_change(self.endpoint_states.get(resource), state)
        self.endpoint_states[resource] = state
        if change is not None:  # a line per change: a failed lab test quotes them (tests/e2e/voice.py)
            log.info("ACD: agent %r's phone is %s: %s", resource, state, change)
        if change is PresenceChange.LOGIN:
            self.logouts_due.discard(resource)
            self._apply(lambda: self.service.login(resource, interface=f"PJSIP/{resource}"))
        elif change is PresenceChange.LOGOUT and self._apply(lambda: self.service.logout(resource)) is None:
            # Refused with an item in hand: typically the very call Asterisk could not ring it for (a phone's
            # expired contact is noticed, and reported offline, by the originate to it). No new state report
            # will come, so the logout is retried at every tick until the item is done (tvoxcc.voice.acd).
            self.logouts_due.add(resource)

    def retry_logouts(self) -> None:
        """Log out the agents whose phone went offline while they held an item, once the item is done."""
        for agent in list(self.logouts_due):
            if self.endpoint_states.get(agent) != "offline":
                self.logouts_due.discard(agent)  # the phone came back meanwhile
                continue
            with contextlib.suppress(q.RouterError):  # still in hand: the next tick tries again
                self.service.logout(agent)
                self.logouts_due.discard(agent)
                log.info("ACD: agent %r logged out: its phone went offline during its last item", agent)

    async def _follow_agents(self) -> None:
        await self.presence.subscribe(self.service.agent_ids())
        asked = self.presence_reports.mark()
        try:
            endpoints = await self.ari.endpoints.list("PJSIP")
        except AriError as exc:
            log.warning("ACD: cannot list endpoints: %s", exc)
            return
        for endpoint in endpoints:
            if not self.presence_reports.since(asked, endpoint.resource):  # else an event said newer (presence)
                self._take_endpoint(endpoint.resource, endpoint.state)

    def _known(self, agent_id: str) -> str:
        if not self.service.has_agent(agent_id):
            raise AgentRefused(f"unknown agent {agent_id!r}")
        return agent_id

    async def agent_login(self, agent_id: str) -> None:
        agent = self._known(agent_id)
        self._apply(lambda: self.service.login(agent, interface=f"PJSIP/{agent}"), strict=True)
        await self.service.flush()  # the agent hears it done once it is stored

    async def agent_logout(self, agent_id: str) -> None:
        agent = self._known(agent_id)
        self._apply(lambda: self.service.logout(agent), strict=True)
        await self.service.flush()  # the agent hears it done once it is stored

    async def agent_pause(self, agent_id: str, code: str) -> str:
        agent = self._known(agent_id)
        tenant = self.acd.tenant_of(agent)
        name = self.pause_codes.get(tenant, {}).get(code)
        if name is None:
            raise AgentRefused(f"no pause code {code!r} in tenant {tenant!r}")
        self._apply(lambda: self.service.pause(agent, name), strict=True)
        await self.service.flush()  # the agent hears it done once it is stored
        return name

    async def agent_unpause(self, agent_id: str) -> None:
        agent = self._known(agent_id)
        self._apply(lambda: self.service.unpause(agent), strict=True)
        await self.service.flush()  # the agent hears it done once it is stored

    async def agent_status(self, agent_id: str) -> str:
        return str(self.service.agent_status(self._known(agent_id)))
