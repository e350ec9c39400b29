"""One person's recordings in the repository (``tvoxcc.recordings``): found, exported in clear, erased.

A person's recordings are those of their contacts, of their interactions, or of one of their numbers. An
export holds each one's row and its audio decrypted (checked against its checksum); one that cannot be read
(its file gone, the tenant's key removed) is listed with why instead of failing the whole export.

An erase deletes them, rows and files, except those on legal hold: a hold overrides erasure (the recording
is kept as evidence), so a held recording keeps its row, its file and its link to the (anonymised) call,
but loses what names the person in it: its number and its contact.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.journey.privacy import Identity
from tvoxcc.recordings.crypto import RecordingKeyError
from tvoxcc.recordings.repository import ChecksumMismatch, Repository
from tvoxcc.store import models as m


async def person_recordings(session: AsyncSession, who: Identity, interaction_ids: list[int]) -> list[m.Recording]:
    r = m.Recording
    found = or_(
        r.contact_id.in_(sorted(who.contact_ids)),
        r.interaction_id.in_(interaction_ids),
        r.number.in_(sorted(who.addresses)),
    )
    return list((await session.execute(select(r).where(found).order_by(r.id))).scalars().all())


@dataclass
class RecordingFiles:
    """A zip's recordings: member name -> audio, and per recording id its member or why it has none."""

    files: dict[str, bytes] = field(default_factory=dict)
    member: dict[int, str] = field(default_factory=dict)
    unreadable: dict[int, str] = field(default_factory=dict)


async def read_recordings(rows: list[m.Recording], repository: Repository, tenant: str) -> RecordingFiles:
    out = RecordingFiles()
    for row in rows:
        try:
            audio = await asyncio.to_thread(repository.audio, row, tenant)
        except FileNotFoundError:
            out.unreadable[row.id] = "its file is missing"
        except (OSError, RecordingKeyError, ChecksumMismatch) as exc:
            out.unreadable[row.id] = str(exc)  # these messages never hold key material
        else:
            name = f"recordings/recording-{row.id}.{row.format}"
            out.files[name], out.member[row.id] = audio, name
    return out


@dataclass(frozen=True, slots=True)
class ErasedRecordings:
    deleted: list[int]
    held: list[int]


async def erase_recordings(session: AsyncSession, rows: list[m.Recording], repository: Repository) -> ErasedRecordings:
    """Delete the recordings not on legal hold (files first, as ``privacy_erase.erase`` does: a failed
    transaction leaves rows naming missing files, which a second erase deletes, never a file no row leads
    to) and take the person out of the held ones. The caller commits."""
    gone = [r for r in rows if not r.legal_hold]
    held = [r for r in rows if r.legal_hold]
    for row in gone:
        await asyncio.to_thread(repository.discard, row)
        await session.delete(row)
    for row in held:
        row.number, row.contact_id = "", None
    await session.flush()
    return ErasedRecordings([r.id for r in gone], [r.id for r in held])
