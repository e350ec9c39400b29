"""Erase a person (``erase``): the rows ``privacy_store.gather`` finds are deleted or blanked, then swept.

An erase deletes the contacts, the chats with their messages (Insight counts no chat), the attachments and
the recording files and recordings (but those on legal hold), and blanks the rest in place:
Insight counts interactions, messages, outbox mails, callbacks and survey answers, so they stay, saying
nothing about who. Then every text column of every table is searched for what is left of them
(``sweep``), so a copy of a number in a log row or a JSON payload goes too; but the audit log, which is
chained by hash (an edit would break ``audit verify``) and is written without personal data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    String,
    Table,
    Text,
    and_,
    cast,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.interactions import Direction
from tvoxcc.journey.book_store import drop_contacts
from tvoxcc.journey.privacy import ERASED, Identity, mentions, pattern, scrub
from tvoxcc.journey.privacy_recordings import erase_recordings
from tvoxcc.journey.privacy_store import PersonData, delete_files, gather, recording_files
from tvoxcc.recordings.repository import Repository
from tvoxcc.store import models as m
from tvoxcc.store.base import Base
from tvoxcc.store.models.audit import AuditEntry, AuditHead
from tvoxcc.store.tenancy import session_tenant
from tvoxcc.support.status import MessageKind


def blank(data: PersonData, who: Identity) -> dict[str, int]:
    """Take the person out of the rows statistics count, and delete their attachments' rows (session.delete
    is left to the caller: this only changes objects)."""
    addresses = who.addresses
    for x in data.interactions:
        theirs = x.contact_id in who.contact_ids  # the customer's side is the inbound's from, the outbound's to
        inbound = x.direction == Direction.INBOUND
        if x.from_address in addresses or (theirs and inbound):
            x.from_address = ""
        if x.to_address in addresses or (theirs and not inbound):
            x.to_address = ""
        x.recording = None
    for t in data.tickets:
        t.subject = ERASED
    for msg in data.messages:
        msg.subject, msg.body_text = ERASED, ERASED
        if msg.kind == MessageKind.INBOUND or msg.author.casefold() in who.emails:
            msg.author = ERASED
    for mail in data.outbox:
        mail.subject, mail.body_text = ERASED, ERASED
        if mail.to_address.casefold() in who.emails:
            mail.to_address = ERASED
    for cb in data.callbacks:
        cb.number = ""
    for r in data.rejections:
        r.sender, r.subject = ERASED, ERASED
    return {
        "interactions": len(data.interactions),
        "tickets": len(data.tickets),
        "messages": len(data.messages),
        "attachments": len(data.attachments),
        "outbox_mails": len(data.outbox),
        "callbacks": len(data.callbacks),
        "mail_rejections": len(data.rejections),
    }


# The erasures log names no one; the audit log is chained by hash (a scrubbed row would fail `audit verify`)
# and its writers keep personal data out of it (ids and keys, not names or numbers).
_NOT_SWEPT = {m.Erasure.__tablename__, AuditEntry.__tablename__, AuditHead.__tablename__}


def _text_columns(table: Table) -> list[Any]:
    return [c for c in table.columns if isinstance(c.type, String | Text | JSON) and not c.primary_key]


async def sweep(session: AsyncSession, who: Identity) -> int:
    """Search every text column of every table for the person (names only in the tenant's own rows: another
    tenant's "Anna Rossi" is someone else) and scrub what is found. Returns the rows changed."""
    tenant_id = session_tenant(session.sync_session)
    changed = 0
    for table in Base.metadata.sorted_tables:
        if table.name in _NOT_SWEPT:
            continue
        columns = _text_columns(table)
        scoped = "tenant_id" in table.c
        needles = who.needles(with_names=scoped)
        found = pattern(needles)
        if not columns or found is None:
            continue
        likes = {n.casefold() for n in needles} | {json.dumps(n.casefold())[1:-1] for n in needles}
        where = or_(*(func.lower(cast(c, Text)).contains(n, autoescape=True) for c in columns for n in sorted(likes)))
        if scoped:
            where = and_(table.c.tenant_id == tenant_id, where)
        keys = list(table.primary_key.columns)
        for row in (await session.execute(select(*keys, *columns).where(where))).mappings().all():
            values = {c.key: scrub(row[c.key], found) for c in columns if mentions(row[c.key], found)}
            if values:
                await session.execute(update(table).where(*(k == row[k.key] for k in keys)).values(**values))
                changed += 1
    return changed


async def _drop_chats(session: AsyncSession, chat_ids: list[int]) -> tuple[int, int]:
    """Delete the chats and their messages (the messages first: SQLite's cascade needs its foreign_keys
    pragma); (chats, messages) deleted."""
    said: Any = await session.execute(
        delete(m.ChatMessage).where(m.ChatMessage.chat_id.in_(chat_ids)).execution_options(synchronize_session=False)
    )
    chats: Any = await session.execute(
        delete(m.Chat).where(m.Chat.id.in_(chat_ids)).execution_options(synchronize_session=False)
    )
    return int(chats.rowcount or 0), int(said.rowcount or 0)


@dataclass(frozen=True, slots=True)
class ErasureOutcome:
    counts: dict[str, int]
    recordings_deleted: list[int]
    recordings_held: list[int]  # kept: on legal hold


async def erase(
    session: AsyncSession, who: Identity, *, recordings_dir: Path | None, repository: Repository, actor: str
) -> ErasureOutcome:
    """Erase a person (see the module's docstring); the erasure is logged in ``erasures``. The recording
    files go first: were the transaction to fail after, rows would still name files that are gone, never
    the other way round (a file of someone no row leads to)."""
    data = await gather(session, who)
    files = delete_files(recording_files(data.interactions, recordings_dir))
    recordings = await erase_recordings(session, data.recordings, repository)
    counts = blank(data, who)
    counts["recording_files"] = files + len(recordings.deleted)
    counts["recordings"] = len(recordings.deleted)
    counts["recordings_held"] = len(recordings.held)
    await session.flush()
    await session.execute(
        delete(m.Attachment).where(m.Attachment.id.in_([a.id for a in data.attachments]))
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    # What the agent noted in a script is about the person: gone (Insight counts no answer).
    await session.execute(
        delete(m.ScriptAnswer).where(m.ScriptAnswer.id.in_([a.id for a in data.script_answers]))
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    counts["script_answers"] = len(data.script_answers)
    for row in [*data.attachments, *data.script_answers, *data.chat_messages, *data.chats, *data.contacts]:
        session.expunge(row)
    counts["chats"], counts["chat_messages"] = await _drop_chats(session, [c.id for c in data.chats])
    counts["contacts"] = (await drop_contacts(session, set(who.contact_ids)))["contacts"] if who.contact_ids else 0
    counts["swept_rows"] = await sweep(session, who)
    session.add(m.Erasure(contact_id=min(who.contact_ids, default=0), actor=actor[:254], counts=counts))
    await session.flush()
    return ErasureOutcome(counts, recordings.deleted, recordings.held)


def scrub_text_file(path: Path, who: Identity) -> int:
    """Scrub a text file the services append to (the queue_log) in place, so an open appender keeps writing
    to it; returns the lines changed."""
    found = pattern(who.needles(with_names=False))
    if found is None or not path.is_file():
        return 0
    with path.open("r+", encoding="utf-8", errors="surrogateescape") as handle:
        lines = handle.readlines()
        clean = [found.sub(ERASED, line) for line in lines]
        changed = sum(a != b for a, b in zip(lines, clean, strict=True))
        if changed:
            handle.seek(0)
            handle.writelines(clean)
            handle.truncate()
    return changed
