"""`contact export CONTACT` and `contact erase CONTACT` from the store's side: one call each, for the CLI.

An erase also reaches what lies outside the rows: the recording files, the queue_log in the data dir and,
on SQLite (whose file usually sits in the data dir), the bytes a deleted or rewritten row leaves behind:
the erase runs with ``secure_delete`` on and the write-ahead log is checkpointed and truncated after it.
PostgreSQL reclaims dead rows with its (auto)vacuum; their bytes are not readable through SQL meanwhile.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from tvoxcc.journey.privacy_store import erase, export_files, gather, person_of, recording_files, scrub_text_file
from tvoxcc.store.engine import Store

QUEUE_LOG = "queue_log"  # the ACD's Asterisk-style log in the data dir (tvoxcc.voice.service)


@dataclass(frozen=True, slots=True)
class Exported:
    path: Path
    counts: dict[str, int]


async def export_person(store: Store, tenant_id: int, ref: str, recordings_dir: Path | None, out: Path) -> Exported:
    """Write everything about the person ``ref`` names to the zip ``out`` (mode 0600: it is personal data)."""
    async with store.tenant(tenant_id) as session:
        data = await gather(session, await person_of(session, ref))
        files, counts = export_files(data, recording_files(data.interactions, recordings_dir))
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(files.items()):
            archive.writestr(name, content)
    return Exported(out, counts)


@dataclass(frozen=True, slots=True)
class Erased:
    contact_ids: tuple[int, ...]
    counts: dict[str, int]


async def erase_person(
    store: Store, tenant_id: int, ref: str, *, recordings_dir: Path | None, data_dir: Path | None, actor: str
) -> Erased:
    """Erase the person ``ref`` names (``privacy_store.erase``), then their traces in files."""
    sqlite = store.engine.dialect.name == "sqlite"
    async with store.tenant(tenant_id) as session:
        if sqlite:
            await session.execute(text("PRAGMA secure_delete = ON"))  # freed bytes are zeroed, not left in pages
        who = await person_of(session, ref)
        counts = await erase(session, who, recordings_dir, actor)
        await session.commit()
    if data_dir is not None:
        counts["queue_log_lines"] = scrub_text_file(data_dir / QUEUE_LOG, who)
    if sqlite:
        async with store.engine.connect() as conn:
            await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))  # old page images leave the WAL
    return Erased(tuple(sorted(who.contact_ids)), counts)
