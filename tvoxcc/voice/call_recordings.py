"""Queue calls' recordings, from Asterisk to the recordings repository.

When the ACD starts recording a call's bridge it notes who, where and when (``started``). When Asterisk
says the recording finished (the bridge was destroyed at hang-up), the file is fetched over ARI, stored in
the repository with its row (tvoxcc.recordings.repository), and deleted from Asterisk: one copy, under
retention. If storing fails the file stays on Asterisk (named on the interaction) and the failure is logged.
A recording still running when the service restarts is left on Asterisk, named on its interaction.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from tvoxcc.ari import AriClient, AriError
from tvoxcc.interactions import Direction
from tvoxcc.recordings.audio import NotAudio
from tvoxcc.recordings.crypto import RecordingKeyError
from tvoxcc.recordings.repository import RecordingMeta, Repository
from tvoxcc.store.engine import Store
from tvoxcc.voice.recorder import InteractionRef, Recorder

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PendingRecording:
    tenant: str
    interaction: InteractionRef
    queue_id: int | None
    agent_id: int | None
    contact_id: int | None
    number: str
    started_at: datetime
    direction: str = Direction.INBOUND


class CallRecordings:
    def __init__(self, ari: AriClient, store: Store, recorder: Recorder, repository: Repository | None) -> None:
        self.ari = ari
        self.store = store
        self.recorder = recorder
        self.repository = repository  # None: recordings stay on Asterisk, named on the interaction
        self.pending: dict[str, PendingRecording] = {}  # ARI recording name -> what it is of

    def started(self, name: str, pending: PendingRecording) -> None:
        if self.repository is not None:
            self.pending[name] = pending

    def owns(self, name: str) -> bool:
        return name in self.pending

    async def finished(self, name: str) -> int | None:
        """Move a finished recording into the repository; its id, or None when it stays on Asterisk."""
        pending = self.pending.pop(name, None)
        if pending is None or self.repository is None:
            return None
        try:
            audio = await self.ari.recordings.stored_file(name)
            if pending.interaction.id is None:
                await self.recorder.flush()  # the interaction's row, so the recording can name it
            meta = RecordingMeta(
                tenant_id=pending.interaction.tenant_id,
                started_at=pending.started_at,
                interaction_id=pending.interaction.id,
                queue_id=pending.queue_id,
                agent_id=pending.agent_id,
                contact_id=pending.contact_id,
                number=pending.number,
                direction=pending.direction,
            )
            recording_id = await self.repository.store(self.store, pending.tenant, meta, audio)
        except (AriError, NotAudio, RecordingKeyError, OSError, SQLAlchemyError) as exc:
            log.warning("voice: recording %s kept on Asterisk, not stored: %s: %s", name, type(exc).__name__, exc)
            return None
        with contextlib.suppress(AriError):
            await self.ari.recordings.delete_stored(name)
        log.info("voice: recording %s stored as recording %d", name, recording_id)
        return recording_id
