"""The recordings repository's files and rows: store a finished recording, read its audio back, delete it.

Files live under ``<recordings dir>/<tenant>/<yyyy>/<mm>/<dd>/<uuid>.wav`` (``.wav.enc`` when the tenant
encrypts at rest). A file is written whole under a temporary name and renamed, then its row committed; a
row never names a half-written file. The checksum is the audio's (before encryption), so an export can be
checked against it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.config import RecordingSettings, Settings
from tvoxcc.interactions import Direction
from tvoxcc.recordings import crypto
from tvoxcc.recordings.audio import inspect
from tvoxcc.recordings.policy import RecordedLeg
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


@dataclass(frozen=True, slots=True)
class RecordingMeta:
    """What the call knows about a recording: who, where, when."""

    tenant_id: int
    started_at: datetime
    interaction_id: int | None = None
    queue_id: int | None = None
    campaign: str | None = None
    agent_id: int | None = None
    contact_id: int | None = None
    number: str = ""
    direction: str = Direction.INBOUND
    gaps: tuple[tuple[float, float], ...] = field(default_factory=tuple)
    leg: RecordedLeg = RecordedLeg.MIXED


class ChecksumMismatch(Exception):
    """A stored file's audio no longer matches the checksum taken when it was stored."""


class Repository:
    def __init__(self, settings: RecordingSettings, data_dir: Path) -> None:
        self.settings = settings
        self.root = settings.dir or data_dir / "recordings"

    @classmethod
    def of(cls, settings: Settings) -> Repository:
        return cls(settings.recordings, settings.data_dir)

    def path_of(self, row: m.Recording) -> Path:
        return self.root / row.path

    def _write(self, relative: str, data: bytes) -> None:
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        temporary = target.with_name(f".{target.name}.part")
        with open(temporary, "wb", opener=lambda p, f: os.open(p, f, 0o640)) as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(target)

    async def add(self, session: AsyncSession, tenant: str, meta: RecordingMeta, audio: bytes) -> m.Recording:
        """Write the file and add its row to ``session`` (flushed, not committed: the caller commits, and
        calls ``discard`` on the row if that fails)."""
        info = inspect(audio)
        key = crypto.tenant_key(self.settings, tenant)
        started = meta.started_at
        relative = f"{tenant}/{started:%Y/%m/%d}/{uuid.uuid4().hex}.{info.format}" + (".enc" if key else "")
        await asyncio.to_thread(self._write, relative, crypto.encrypt(key, audio) if key else audio)
        row = m.Recording(
            tenant_id=meta.tenant_id,
            interaction_id=meta.interaction_id,
            queue_id=meta.queue_id,
            campaign=meta.campaign,
            agent_id=meta.agent_id,
            contact_id=meta.contact_id,
            number=meta.number,
            direction=str(meta.direction),
            started_at=started,
            duration_s=info.duration_s,
            size_bytes=len(audio),
            format=info.format,
            sha256=hashlib.sha256(audio).hexdigest(),
            path=relative,
            encrypted=key is not None,
            gaps=[list(gap) for gap in meta.gaps],
            leg=str(meta.leg),
        )
        session.add(row)
        try:
            await session.flush()
        except BaseException:
            self.discard(row)
            raise
        return row

    async def store(self, store: Store, tenant: str, meta: RecordingMeta, audio: bytes) -> int:
        """``add`` in a transaction of its own; returns the new recording's id."""
        async with store.tenant(meta.tenant_id) as session:
            row = await self.add(session, tenant, meta, audio)
            try:
                await session.commit()
            except BaseException:
                self.discard(row)
                raise
            return row.id

    def discard(self, row: m.Recording) -> None:
        """Remove a row's file (its row is gone or about to be)."""
        with contextlib.suppress(FileNotFoundError):
            self.path_of(row).unlink()

    def audio(self, row: m.Recording, tenant: str) -> bytes:
        """The recording's audio in clear, checked against its checksum."""
        data = self.path_of(row).read_bytes()
        if row.encrypted:
            key = crypto.tenant_key(self.settings, tenant)
            if key is None:
                raise crypto.RecordingKeyError(f"recording {row.id} is encrypted and tenant {tenant!r} has no key")
            data = crypto.decrypt(key, data)
        if hashlib.sha256(data).hexdigest() != row.sha256:
            raise ChecksumMismatch(f"recording {row.id}: the file does not match its checksum")
        return data
