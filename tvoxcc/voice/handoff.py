"""Where a call goes when its IVR says "queue". The ACD binding replaces the holding implementation."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Protocol

from tvoxcc.ari import AriClient, AriError
from tvoxcc.ivr.commands import EnterQueue

if TYPE_CHECKING:
    from tvoxcc.voice.call import CallSession

log = logging.getLogger(__name__)


class QueueHandoff(Protocol):
    async def enter(self, call: CallSession, command: EnterQueue) -> None: ...

    async def left(self, channel_id: str) -> None:
        """The channel hung up or left Stasis."""


class HoldingQueue:
    """Callers wait in one holding bridge per queue with music on hold, until the ACD takes them."""

    def __init__(self, ari: AriClient) -> None:
        self.ari = ari
        self.bridges: dict[str, str] = {}  # queue key -> bridge id
        self.waiting: dict[str, CallSession] = {}

    async def _bridge(self, key: str) -> str:
        if key not in self.bridges:
            bridge = await self.ari.bridges.create(type="holding", name=f"tvoxcc-hold-{key}")
            self.bridges[key] = bridge.id
        return self.bridges[key]

    async def enter(self, call: CallSession, command: EnterQueue) -> None:
        key = f"{call.route.tenant}-{command.queue}"
        bridge_id = await self._bridge(key)
        await self.ari.bridges.add_channel(bridge_id, call.channel_id)
        await self.ari.bridges.moh_start(bridge_id)
        self.waiting[call.channel_id] = call
        await call.directory.log(call.route, call.interaction_id, "queued", call.clock(), {"queue": command.queue})

    async def left(self, channel_id: str) -> None:
        call = self.waiting.pop(channel_id, None)
        if call is not None:
            await call.directory.close(call.route, call.interaction_id, call.clock(), "abandoned")

    async def close(self) -> None:
        for bridge_id in self.bridges.values():
            with contextlib.suppress(AriError):
                await self.ari.bridges.destroy(bridge_id)
