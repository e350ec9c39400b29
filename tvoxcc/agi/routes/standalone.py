"""Agent feature codes when the FastAGI server runs without the voice service (`tvoxcc agi run`).

The ACD lives in `tvoxcc voice run`; without it an agent's state cannot change. The routes still answer,
so a phone hears "an error has occurred" (TVOXCC_AGENT_RESULT=refused) instead of a failed AGI.
"""

from __future__ import annotations

from tvoxcc.agi.routes.agent import AgentRefused

WHY = "no ACD here: agent feature codes need `tvoxcc voice run`"


class NoAcd:
    async def agent_login(self, agent_id: str) -> None:
        raise AgentRefused(WHY)

    async def agent_logout(self, agent_id: str) -> None:
        raise AgentRefused(WHY)

    async def agent_pause(self, agent_id: str, code: str) -> str:
        raise AgentRefused(WHY)

    async def agent_unpause(self, agent_id: str) -> None:
        raise AgentRefused(WHY)

    async def agent_status(self, agent_id: str) -> str:
        raise AgentRefused(WHY)
