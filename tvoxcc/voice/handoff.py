"""What the voice service needs from whatever takes a call when its IVR says "queue" (the ACD).

The "queued" interaction event has one shape, ``tvoxcc.voice.directory.QueuePoint``: where the call waits,
what its IVR decided and its place in line, read back after a restart to queue the call again as it was.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from tvoxcc.ivr.commands import EnterQueue

if TYPE_CHECKING:
    from tvoxcc.ari.models import LiveRecording
    from tvoxcc.voice.call import CallSession
    from tvoxcc.voice.directory import QueuePoint


class QueueHandoff(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def enter(self, call: CallSession, command: EnterQueue, *, resumed: QueuePoint | None = None) -> None:
        """The IVR queues the call; ``resumed``: where it waited before a restart (its place and its wait)."""

    def stored_point(self, channel_id: str) -> QueuePoint | None:
        """Where the handoff's stored state holds this channel's call after a restart (None: nowhere)."""
        ...

    async def left(self, channel_id: str) -> None:
        """A channel hung up or left Stasis."""

    async def on_stasis_start(self, channel_id: str, args: tuple[str, ...]) -> bool:
        """A channel of the handoff's own (an agent leg) entered Stasis; False when it is not one."""
        ...

    async def on_endpoint(self, resource: str, state: str) -> None: ...

    def playback_finished(self, playback_id: str) -> None:
        """One of the channels' playbacks ended (the handoff's own announcements among them)."""

    def recording_finished(self, recording: LiveRecording) -> None:
        """Asterisk finished (or failed) a recording (the handoff's own calls' among them)."""

    def dtmf(self, channel_id: str, digit: str, keyed_at: datetime | None) -> None:
        """A digit keyed on a channel (the handoff's agent legs among them), at Asterisk's time of the event."""

    async def on_connected(self) -> None: ...

    def held_calls(self) -> set[str] | None:
        """The caller channel ids (= item ids) of every call the handoff holds, in memory or in its stored
        rows; None when it cannot say (not routing)."""
        ...

    def lane_of(self, channel_id: str, args: tuple[str, ...] = ()) -> str:
        """The lane (tvoxcc.voice.lanes) of the call this channel belongs to."""
        ...
