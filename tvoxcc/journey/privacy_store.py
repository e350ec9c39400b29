"""One person's data in the store: found (``gather``), exported as a zip (``write_export``) and erased (``erase``).

On a tenant-scoped session; the caller commits. What is a person's: their contact and the contacts merged
into it; every interaction linked to them or from/to one of their phones or e-mails, with its events and
survey answers; their webchats and SMS chats (theirs, or with one of their e-mails or numbers) with every
message; their tickets (theirs, or opened by one of those interactions) with every message and
attachment; the mails sent about those tickets or to their addresses; their callbacks; mails of theirs the
mail channel rejected; the recording files those interactions name (Asterisk's folder); their recordings in
the repository (``privacy_recordings``).

An erase deletes the contacts, the chats with their messages (Insight counts no chat), the attachments and
the recording files and recordings (but those on legal hold), and blanks the rest in place:
Insight counts interactions, messages, outbox mails, callbacks and survey answers, so they stay, saying
nothing about who. Then every text column of every table is searched for what is left of them
(``sweep``), so a copy of a number in a log row or a JSON payload goes too; but the audit log, which is
chained by hash (an edit would break ``audit verify``) and is written without personal data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    LargeBinary,
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
from tvoxcc.journey.book_store import drop_contacts, family_of
from tvoxcc.journey.contacts import ContactNotFound, parse_ref
from tvoxcc.journey.privacy import ERASED, Identity, identity, mentions, pattern, scrub
from tvoxcc.journey.privacy_recordings import RecordingFiles, erase_recordings, person_recordings
from tvoxcc.journey.store import find_contact_id, load_contacts, tenant_country
from tvoxcc.recordings.repository import Repository
from tvoxcc.store import models as m
from tvoxcc.store.base import Base
from tvoxcc.store.models.audit import AuditEntry, AuditHead
from tvoxcc.store.tenancy import session_tenant
from tvoxcc.support.status import MessageKind

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # a recording name that cannot leave its folder


async def person_of(session: AsyncSession, text: str) -> Identity:
    """The person a reference names: a contact (with the contacts merged into it), or a bare phone or e-mail
    no contact has (an unknown caller's or sender's interactions are still theirs)."""
    ref = parse_ref(text, await tenant_country(session))
    contact_id = await find_contact_id(session, ref)
    if contact_id is None:
        if ref.contact_id is not None:
            raise ContactNotFound(f"no contact {ref.contact_id}")
        return identity((), [ref.phone] if ref.phone else [], [ref.email] if ref.email else [], ())
    survivor = contact_id
    while (into := await session.scalar(select(m.Contact.merged_into_id).where(m.Contact.id == survivor))) is not None:
        survivor = into
    contacts = await load_contacts(session, m.Contact.id.in_(await family_of(session, survivor)))
    return identity(
        contacts,
        [p for c in contacts.values() for p in c.phones],
        [e for c in contacts.values() for e in c.emails],
        [c.display_name for c in contacts.values()],
    )


@dataclass
class PersonData:
    """The ORM rows that are one person's (see the module's docstring)."""

    contacts: list[m.Contact] = field(default_factory=list)
    interactions: list[m.Interaction] = field(default_factory=list)
    events: list[m.InteractionEvent] = field(default_factory=list)
    surveys: list[m.NpsAnswer] = field(default_factory=list)
    tickets: list[m.Ticket] = field(default_factory=list)
    messages: list[m.TicketMessage] = field(default_factory=list)
    attachments: list[m.Attachment] = field(default_factory=list)
    outbox: list[m.OutboxMail] = field(default_factory=list)
    callbacks: list[m.Callback] = field(default_factory=list)
    rejections: list[m.MailRejection] = field(default_factory=list)
    recordings: list[m.Recording] = field(default_factory=list)
    chats: list[m.Chat] = field(default_factory=list)
    chat_messages: list[m.ChatMessage] = field(default_factory=list)
    script_answers: list[m.ScriptAnswer] = field(default_factory=list)
    agent_calls: list[m.AgentCall] = field(default_factory=list)

    def tables(self) -> dict[str, list[Any]]:
        return {
            "contacts": self.contacts,
            "interactions": self.interactions,
            "interaction_events": self.events,
            "survey_answers": self.surveys,
            "tickets": self.tickets,
            "ticket_messages": self.messages,
            "attachments": self.attachments,
            "outbox_mails": self.outbox,
            "callbacks": self.callbacks,
            "mail_rejections": self.rejections,
            "recordings": self.recordings,
            "chats": self.chats,
            "chat_messages": self.chat_messages,
            "script_answers": self.script_answers,
            "agent_calls": self.agent_calls,
        }


async def _all(session: AsyncSession, query: Any) -> list[Any]:
    return list((await session.execute(query)).scalars().all())


def chats_of(who: Identity) -> ColumnElement[bool]:
    """The person's webchats and SMS chats: theirs, or with one of their numbers or e-mails."""
    chat = m.Chat
    return or_(
        chat.contact_id.in_(sorted(who.contact_ids)),
        chat.address.in_(sorted(who.addresses)),
        func.lower(chat.visitor_email).in_(sorted(who.emails)),
    )


async def gather(session: AsyncSession, who: Identity) -> PersonData:
    ids, addresses, emails = sorted(who.contact_ids), sorted(who.addresses), sorted(who.emails)
    i, t = m.Interaction, m.Ticket
    data = PersonData()
    data.contacts = await _all(session, select(m.Contact).where(m.Contact.id.in_(ids)).order_by(m.Contact.id))
    data.interactions = await _all(
        session,
        select(i)
        .where(or_(i.contact_id.in_(ids), i.from_address.in_(addresses), i.to_address.in_(addresses)))
        .order_by(i.id),
    )
    interaction_ids = [x.id for x in data.interactions]
    data.events = await _all(
        session, select(m.InteractionEvent).where(m.InteractionEvent.interaction_id.in_(interaction_ids))
    )
    data.surveys = await _all(session, select(m.NpsAnswer).where(m.NpsAnswer.interaction_id.in_(interaction_ids)))
    answers = m.ScriptAnswer
    data.script_answers = await _all(
        session, select(answers).where(answers.interaction_id.in_(interaction_ids)).order_by(answers.id)
    )
    dialled = m.AgentCall
    data.agent_calls = await _all(
        session,
        select(dialled)
        .where(
            or_(dialled.contact_id.in_(ids), dialled.interaction_id.in_(interaction_ids), dialled.number.in_(addresses))
        )
        .order_by(dialled.id),
    )
    via_messages = select(m.TicketMessage.ticket_id).where(m.TicketMessage.interaction_id.in_(interaction_ids))
    ticket_ids = {x.ticket_id for x in data.interactions if x.ticket_id is not None}
    data.tickets = await _all(
        session,
        select(t).where(or_(t.contact_id.in_(ids), t.id.in_(ticket_ids), t.id.in_(via_messages))).order_by(t.id),
    )
    tickets = [x.id for x in data.tickets]
    data.messages = await _all(
        session, select(m.TicketMessage).where(m.TicketMessage.ticket_id.in_(tickets)).order_by(m.TicketMessage.id)
    )
    data.attachments = await _all(
        session, select(m.Attachment).where(m.Attachment.message_id.in_([x.id for x in data.messages]))
    )
    box = m.OutboxMail
    data.outbox = await _all(
        session,
        select(box).where(or_(box.ticket_id.in_(tickets), func.lower(box.to_address).in_(emails))),
    )
    cb = m.Callback
    data.callbacks = await _all(
        session,
        select(cb).where(
            or_(
                cb.contact_id.in_(ids),
                cb.number.in_(addresses),
                cb.requested_by_id.in_(interaction_ids),
                cb.placed_as_id.in_(interaction_ids),
            )
        ),
    )
    sender = func.lower(m.MailRejection.sender)
    data.rejections = await _all(session, select(m.MailRejection).where(sender.in_(emails)))
    data.recordings = await person_recordings(session, who, interaction_ids)
    data.chats = await _all(session, select(m.Chat).where(chats_of(who)).order_by(m.Chat.id))
    said = m.ChatMessage
    data.chat_messages = await _all(
        session, select(said).where(said.chat_id.in_([c.id for c in data.chats])).order_by(said.chat_id, said.seq)
    )
    return data


def recording_paths(names: Iterable[str | None], folder: Path | None) -> list[Path]:
    """The files of recordings named so (``<name>.<format>`` in Asterisk's recording folder)."""
    if folder is None or not folder.is_dir():
        return []
    safe = {n for n in names if n and SAFE_NAME.match(n)}
    return sorted(p for name in safe for p in folder.glob(f"{name}.*") if p.is_file())


def recording_files(interactions: list[m.Interaction], folder: Path | None) -> list[Path]:
    return recording_paths((x.recording for x in interactions), folder)


def delete_files(paths: Iterable[Path]) -> int:
    count = 0
    for path in paths:
        path.unlink(missing_ok=True)
        count += 1
    return count


# -- export ------------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def row_json(row: Any) -> dict[str, Any]:
    """Every column of a row but binary ones (an attachment's bytes are a file of the zip)."""
    table: Table = row.__table__
    return {c.key: _plain(getattr(row, c.key)) for c in table.columns if not isinstance(c.type, LargeBinary)}


def export_files(
    data: PersonData, recordings: list[Path], stored: RecordingFiles
) -> tuple[dict[str, bytes], dict[str, int]]:
    """The zip's members (one JSON file per kind of row, the attachments and the recordings as files: those
    Asterisk's folder holds, and the repository's ``stored``, decrypted), and how many of each there are."""
    files: dict[str, bytes] = {}
    tables = {name: [row_json(r) for r in rows] for name, rows in data.tables().items()}
    for row, attachment in zip(tables["attachments"], data.attachments, strict=True):
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", attachment.filename)[:100] or "attachment"
        row["file"] = f"attachments/{attachment.id}-{safe}"
        files[row["file"]] = attachment.data or b""
    for path in recordings:
        files[f"recordings/{path.name}"] = path.read_bytes()
    for row in tables["recordings"]:
        row["file"] = stored.member.get(row["id"])
        if row["id"] in stored.unreadable:
            row["unreadable"] = stored.unreadable[row["id"]]
    files |= stored.files
    for name, rows in tables.items():
        files[f"{name}.json"] = json.dumps(rows, indent=2, ensure_ascii=False, default=str).encode()
    counts = {name: len(rows) for name, rows in tables.items()}
    counts["recording_files"] = len(recordings) + len(stored.files)
    files["manifest.json"] = json.dumps({"counts": counts}, indent=2).encode()
    return files, counts


# -- erase -------------------------------------------------------------------------------------------------


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
