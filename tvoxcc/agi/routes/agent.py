"""Agent feature codes dialled from a SIP phone: *71 login, *72 logout, *73<code> pause, *74 unpause, *75 status.

The dialplan (tvoxcc-agi) passes ``tenant, agent, code`` from the caller's own endpoint, so an agent can only
act on itself. Each route changes the agent's state in the ACD at once and answers with a short prompt.
"""

from __future__ import annotations

import logging
from typing import Protocol

from tvoxcc.agi.request import AgiRequest
from tvoxcc.agi.server import Handler
from tvoxcc.queues.model import AgentStatus

log = logging.getLogger(__name__)

# Asterisk's own sounds (core sounds package), so a new tenant needs no recording for these.
LOGGED_IN = "agent-loginok"
LOGGED_OUT = "agent-loggedoff"
PAUSED = "auth-thankyou"
UNPAUSED = "agent-loginok"
REFUSED = "an-error-has-occurred"


class AgentRefused(Exception):
    """The ACD cannot do it (unknown agent, unknown pause code, busy on a call)."""


class AgentControl(Protocol):
    async def agent_login(self, agent_id: str) -> None: ...
    async def agent_logout(self, agent_id: str) -> None: ...
    async def agent_pause(self, agent_id: str, code: str) -> str:
        """Pause with activity ``code`` (the digits dialled); returns the code's name."""
        ...

    async def agent_unpause(self, agent_id: str) -> None: ...
    async def agent_status(self, agent_id: str) -> str: ...


def _agent_of(request: AgiRequest) -> tuple[str, str]:
    args = request.args
    if len(args) < 2 or not args[0] or not args[1]:
        raise AgentRefused(f"no tenant/agent on channel {request.channel} (not an agent phone?)")
    return f"{args[0]}-{args[1]}", args[2] if len(args) > 2 else ""


# The digit *75 says for each of the router's agent states.
STATUS_DIGITS: dict[str, str] = {
    AgentStatus.LOGGED_OUT: "0",
    AgentStatus.AVAILABLE: "1",
    AgentStatus.RESERVED: "2",
    AgentStatus.BUSY: "3",
    AgentStatus.WRAPUP: "4",
    AgentStatus.PAUSED: "5",
}


def agent_routes(control: AgentControl) -> dict[str, Handler]:
    async def run(request: AgiRequest, verb: str) -> None:
        try:
            agent_id, code = _agent_of(request)
            if verb == "login":
                await control.agent_login(agent_id)
                sound = LOGGED_IN
            elif verb == "logout":
                await control.agent_logout(agent_id)
                sound = LOGGED_OUT
            elif verb == "pause":
                name = await control.agent_pause(agent_id, code)
                await request.set_variable("TVOXCC_PAUSE", name)
                sound = PAUSED
            elif verb == "unpause":
                await control.agent_unpause(agent_id)
                sound = UNPAUSED
            else:
                status = await control.agent_status(agent_id)
                await request.set_variable("TVOXCC_AGENT_STATUS", status)
                await request.stream_file("beep")
                await request.say_digits(STATUS_DIGITS.get(status, "9"))
                return
        except AgentRefused as exc:
            log.info("agent %s refused: %s", verb, exc)
            await request.set_variable("TVOXCC_AGENT_RESULT", "refused")
            await request.stream_file(REFUSED)
            return
        await request.set_variable("TVOXCC_AGENT_RESULT", "ok")
        await request.stream_file(sound)

    async def login(request: AgiRequest) -> None:
        await run(request, "login")

    async def logout(request: AgiRequest) -> None:
        await run(request, "logout")

    async def pause(request: AgiRequest) -> None:
        await run(request, "pause")

    async def unpause(request: AgiRequest) -> None:
        await run(request, "unpause")

    async def status(request: AgiRequest) -> None:
        await run(request, "status")

    return {
        "agent-login": login,
        "agent-logout": logout,
        "agent-pause": pause,
        "agent-unpause": unpause,
        "agent-status": status,
    }
