"""What the voice service needs from whatever takes a call when its IVR says "queue" (the ACD).

Also the one shape of the "queued" interaction event: the queue and what the IVR decided for the call
(priority, skills, variables, language), stored with the call and read back after a restart to queue the
call again as it was (``queued_event`` writes it, ``requeue`` reads it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from tvoxcc.ivr.commands import EnterQueue

if TYPE_CHECKING:
    from tvoxcc.voice.call import CallSession


class QueueHandoff(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def enter(self, call: CallSession, command: EnterQueue) -> None: ...

    async def left(self, channel_id: str) -> None:
        """A channel hung up or left Stasis."""

    async def on_stasis_start(self, channel_id: str, args: tuple[str, ...]) -> bool:
        """A channel of the handoff's own (an agent leg) entered Stasis; False when it is not one."""
        ...

    async def on_endpoint(self, resource: str, state: str) -> None: ...

    async def on_connected(self) -> None: ...

    def lane_of(self, channel_id: str, args: tuple[str, ...] = ()) -> str:
        """The lane (tvoxcc.voice.lanes) of the call this channel belongs to."""
        ...


def queued_event(command: EnterQueue) -> dict[str, Any]:
    return {
        "queue": command.queue,
        "priority": command.priority,
        "skills": dict(command.skills),
        "variables": dict(command.variables),
        "language": command.language,
    }


def requeue(data: Mapping[str, Any], language: str) -> EnterQueue:
    """The EnterQueue a stored "queued" event describes; ``language`` where it names none (an event stored
    before it carried more than the queue: priority 0, no skills, no variables)."""
    skills = {str(k): int(v) for k, v in dict(data.get("skills") or {}).items()}
    variables = {str(k): str(v) for k, v in dict(data.get("variables") or {}).items()}
    return EnterQueue(
        str(data["queue"]),
        int(data.get("priority") or 0),
        tuple(sorted(skills.items())),
        tuple(sorted(variables.items())),
        str(data.get("language") or language),
    )
