"""`contact export CONTACT` and `contact erase CONTACT` from the store's side: one call each, for the CLI.

Each writes one audit row (``contact.export``, ``contact.erase``) in the transaction of what it did: who,
the tenant, the contact ids and counts (and the repository recordings by id) — never a name or a number.

An erase also reaches what lies outside the rows: the recording files, the queue_log in the data dir and,
on SQLite (whose file usually sits in the data dir), the bytes a deleted or rewritten row leaves behind:
the erase runs with ``secure_delete`` on and the write-ahead log is checkpointed and truncated after it.
PostgreSQL reclaims dead rows with its (auto)vacuum; their bytes are not readable through SQL meanwhile.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc import audit
from tvoxcc.journey.privacy import Identity
from tvoxcc.journey.privacy_chats import end_ongoing, ongoing, refusal
from tvoxcc.journey.privacy_erase import erase, scrub_text_file
from tvoxcc.journey.privacy_export import export_files
from tvoxcc.journey.privacy_recordings import read_recordings
from tvoxcc.journey.privacy_store import gather, person_of, recording_files
from tvoxcc.recordings.repository import Repository
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.types import utcnow

QUEUE_LOG = "queue_log"  # the ACD's Asterisk-style log in the data dir (tvoxcc.voice.service)


@dataclass(frozen=True, slots=True)
class Exported:
    path: Path
    counts: dict[str, int]


async def _tenant_name(session: AsyncSession, tenant_id: int) -> str:
    return str((await session.execute(select(m.Tenant.name).where(m.Tenant.id == tenant_id))).scalar_one())


def _subject(verb: str, who: Identity) -> str:
    ids = ", ".join(map(str, sorted(who.contact_ids)))
    return f"{verb} contact {ids}" if ids else f"{verb} an address without contact"


async def export_person(
    store: Store,
    tenant_id: int,
    ref: str,
    *,
    recordings_dir: Path | None,
    repository: Repository,
    out: Path,
    actor: str,
) -> Exported:
    """Write everything about the person ``ref`` names to the zip ``out`` (mode 0600: it is personal data),
    the repository's recordings decrypted; audited once the zip is written."""
    async with store.tenant(tenant_id) as session:
        tenant = await _tenant_name(session, tenant_id)
        who = await person_of(session, ref)
        data = await gather(session, who)
        stored = await read_recordings(data.recordings, repository, tenant)
        files, counts = export_files(data, recording_files(data.interactions, recordings_dir), stored)
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in sorted(files.items()):
                archive.writestr(name, content)
        await audit.record(
            session,
            actor=actor,
            action=audit.AuditAction.CONTACT_EXPORT,
            tenant=tenant,
            subject=_subject("exported", who),
            detail={
                "contacts": sorted(who.contact_ids),
                "counts": counts,
                "recordings": sorted(stored.member),
                "recordings_unreadable": sorted(stored.unreadable),
            },
        )
        await session.commit()
    return Exported(out, counts)


@dataclass(frozen=True, slots=True)
class Erased:
    contact_ids: tuple[int, ...]
    counts: dict[str, int]


async def erase_person(
    store: Store,
    tenant_id: int,
    ref: str,
    *,
    recordings_dir: Path | None,
    repository: Repository,
    data_dir: Path | None,
    actor: str,
    close_open: bool = False,
    now: datetime | None = None,
) -> Erased:
    """Erase the person ``ref`` names (``privacy_erase.erase``), then their traces in files. Refused (OpenChats)
    while one of their chats is open, unless ``close_open``: then each is ended first (``privacy_chats``)."""
    if close_open:
        async with store.tenant(tenant_id) as session:
            going = await ongoing(session, await person_of(session, ref))
        if going:
            await end_ongoing(store, tenant_id, going, now or utcnow())
    sqlite = store.engine.dialect.name == "sqlite"
    async with store.tenant(tenant_id) as session:
        if sqlite:
            await session.execute(text("PRAGMA secure_delete = ON"))  # freed bytes are zeroed, not left in pages
        tenant = await _tenant_name(session, tenant_id)
        who = await person_of(session, ref)
        going = await ongoing(session, who)  # in the erase's transaction: a chat opened meanwhile stops it too
        if going:
            raise refusal(going)
        done = await erase(session, who, recordings_dir=recordings_dir, repository=repository, actor=actor)
        counts = done.counts
        await audit.record(
            session,
            actor=actor,
            action=audit.AuditAction.CONTACT_ERASE,
            tenant=tenant,
            subject=_subject("erased", who),
            detail={
                "contacts": sorted(who.contact_ids),
                "counts": counts,
                "recordings_deleted": done.recordings_deleted,
                "recordings_held": done.recordings_held,
            },
        )
        await session.commit()
    if data_dir is not None:
        counts["queue_log_lines"] = scrub_text_file(data_dir / QUEUE_LOG, who)
    if sqlite:
        async with store.engine.connect() as conn:
            await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))  # old page images leave the WAL
    return Erased(tuple(sorted(who.contact_ids)), counts)
