"""One person's data in the store: who a reference names (``person_of``) and their rows (``gather``).

On a tenant-scoped session; the caller commits. What is a person's: their contact and the contacts merged
into it; every interaction linked to them or from/to one of their phones or e-mails, with its events and
survey answers; their webchats and SMS chats (theirs, or with one of their e-mails or numbers) with every
message; their tickets (theirs, or opened by one of those interactions) with every message and
attachment; the mails sent about those tickets or to their addresses; their callbacks; mails of theirs the
mail channel rejected; the recording files those interactions name (Asterisk's folder); their recordings in
the repository (``privacy_recordings``). Exported as a zip by ``privacy_export``, erased by ``privacy_erase``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.journey.book_store import family_of
from tvoxcc.journey.contacts import ContactNotFound, parse_ref
from tvoxcc.journey.privacy import Identity, identity
from tvoxcc.journey.privacy_recordings import person_recordings
from tvoxcc.journey.store import find_contact_id, load_contacts, tenant_country
from tvoxcc.store import models as m

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
