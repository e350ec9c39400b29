"""The voice service's side of the desktop's "Pause recording" / "Resume recording".

The web app stores a ``recording_requests`` row (tvoxcc.recordings.requests); this polls them every ``poll_s``
(as click-to-call's requests are: tvoxcc.voice.agent_calls), takes each once and hands it to the one owner of
pausing, CallRecordings.desk_request — the code path of the agent's ``*78`` / ``*79``. A request for a call this
service does not record (another node's, ended meanwhile) is taken and logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from tvoxcc.recordings import requests
from tvoxcc.store.engine import Store
from tvoxcc.voice.call_recordings import CallRecordings

log = logging.getLogger(__name__)

REQUEST_POLL_S = 0.5


class RecordingRequests:
    def __init__(
        self, store: Store, recordings: CallRecordings, clock: Callable[[], datetime], *, poll_s: float = REQUEST_POLL_S
    ) -> None:
        self.store, self.recordings, self.clock, self.poll_s = store, recordings, clock, poll_s
        self._poller: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll(), name="recording-requests")

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None

    async def take(self) -> int:
        """Take the requests waiting now and carry them out; how many were carried out."""
        done = 0
        for claimed in await requests.claim(self.store, self.clock()):
            if claimed.stale:
                log.info("voice: recording request %d dropped: too old", claimed.row_id)
            elif await self.recordings.desk_request(claimed.tenant_id, claimed.agent_id, claimed.action, self.clock()):
                done += 1
            else:
                log.info(
                    "voice: recording request %d: agent %d has no recorded call here", claimed.row_id, claimed.agent_id
                )
        return done

    async def _poll(self) -> None:
        while True:
            try:
                await self.take()
            except Exception:
                log.exception("voice: taking recording requests failed")
            await asyncio.sleep(self.poll_s)
