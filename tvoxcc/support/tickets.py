"""Tickets from mail, and the agent's actions on them, over a tenant-scoped store session.

Nothing here commits: the caller owns the transaction, so an ingested mail, its ticket, its
acknowledgement in the outbox and the mailbox's progress are stored together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.mail.parse import ParsedMail, clean
from tvoxcc.mail.ratelimit import SenderLimit, rate_limit_reason
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.store import models as m
from tvoxcc.support.ids import new_message_id
from tvoxcc.support.sla_store import change_status, status_event
from tvoxcc.support.threading import after_customer_message, choose_thread, tagged_number, with_tag

MakeId = Callable[[str], str]


class TicketError(Exception):
    """An agent action that cannot be done; the message is one line for the CLI."""


@dataclass(frozen=True)
class Mailbox:
    """Where a mail came in: the tenant, the service it serves and the address customers write to."""

    tenant_id: int
    tenant_name: str
    tenant_display: str
    language: str
    service_id: int | None
    address: str
    key: str  # user@host:port/folder, the MailboxState key
    sender_limit: SenderLimit | None = None  # None: no per-sender rate limit


@dataclass(frozen=True)
class IngestOutcome:
    action: str  # new-ticket | added | duplicate | rejected
    ticket_number: int | None = None
    reason: str = ""


async def _contact_for(session: AsyncSession, email: str, name: str) -> m.Contact:
    found = (
        await session.execute(
            select(m.Contact)
            .join(m.ContactEmail, m.ContactEmail.contact_id == m.Contact.id)
            .where(m.ContactEmail.email == email)
        )
    ).scalar_one_or_none()
    if found is not None:
        return found
    contact = m.Contact(display_name=name or email)
    contact.emails.append(m.ContactEmail(email=email))
    session.add(contact)
    await session.flush()
    return contact


async def _ticket_for(session: AsyncSession, mail: ParsedMail) -> tuple[m.Ticket | None, str]:
    ids = [i for i in [mail.in_reply_to, *mail.references] if i]
    by_message: dict[str, int] = {}
    if ids:
        rows = await session.execute(
            select(m.TicketMessage.message_id, m.TicketMessage.ticket_id).where(m.TicketMessage.message_id.in_(ids))
        )
        by_message = {mid: tid for mid, tid in rows.all() if mid}
    by_number: dict[int, int] = {}
    number = tagged_number(mail.subject)
    if number is not None:
        tid = (await session.execute(select(m.Ticket.id).where(m.Ticket.number == number))).scalar_one_or_none()
        if tid is not None:
            by_number[number] = tid
    candidates = set(by_message.values()) | set(by_number.values())
    closed: frozenset[int] = frozenset()
    if candidates:
        rows2 = await session.execute(
            select(m.Ticket.id).where(m.Ticket.id.in_(candidates), m.Ticket.status == "closed")
        )
        closed = frozenset(rows2.scalars().all())
    choice = choose_thread(mail.in_reply_to, mail.references, mail.subject, by_message, by_number, closed)
    if choice.ticket_id is None:
        return None, choice.reason
    return await session.get(m.Ticket, choice.ticket_id), choice.reason


async def _next_number(session: AsyncSession) -> int:
    # Per tenant (the session is tenant-scoped); a race with another writer hits the unique constraint and is retried.
    highest = (await session.execute(select(func.max(m.Ticket.number)))).scalar_one_or_none()
    return (highest or 1000) + 1


async def ingest_mail(
    session: AsyncSession,
    box: Mailbox,
    mail: ParsedMail,
    *,
    uid: int | None,
    now: datetime,
    templates: MailTemplates,
    make_id: MakeId = new_message_id,
) -> IngestOutcome:
    seen = (
        await session.execute(select(m.TicketMessage.id).where(m.TicketMessage.message_id == mail.message_id))
    ).first()
    if seen is not None:
        return IngestOutcome("duplicate", reason="message-id already stored")
    reason = mail.rejection or ("sent by this mailbox (loop)" if mail.sender == box.address.casefold() else None)
    if reason is None and box.sender_limit is not None:
        reason = await rate_limit_reason(session, box.sender_limit, mail.sender, now)
    if reason:
        session.add(
            m.MailRejection(
                mailbox=clean(box.key, 300),
                uid=uid,
                message_id=mail.message_id,
                sender=mail.sender,
                subject=mail.subject,
                reason=reason[:200],
            )
        )
        return IngestOutcome("rejected", reason=reason)
    contact = await _contact_for(session, mail.sender, mail.sender_name)
    ticket, how = await _ticket_for(session, mail)
    is_new = ticket is None
    if ticket is None:
        ticket = m.Ticket(
            number=await _next_number(session),
            service_id=box.service_id,
            contact_id=contact.id,
            subject=mail.subject,
            status="new",
            updated_at=now,
            created_at=now,
        )
        session.add(ticket)
        await session.flush()
        session.add(status_event(ticket, "new", now))  # the SLA clocks start here
    else:
        change_status(session, ticket, after_customer_message(ticket.status), now)
    interaction = m.Interaction(
        channel="mail",
        direction="inbound",
        service_id=ticket.service_id,
        contact_id=contact.id,
        ticket_id=ticket.id,
        external_id=mail.message_id[:255],
        from_address=mail.sender,
        to_address=clean(box.address, 254),
        offered_at=now,
        created_at=now,
    )
    session.add(interaction)
    await session.flush()
    session.add(
        m.InteractionEvent(
            at=now, kind="offered", interaction_id=interaction.id, data={"ticket": ticket.number, "thread": how}
        )
    )
    message = m.TicketMessage(
        ticket_id=ticket.id,
        interaction_id=interaction.id,
        kind="inbound",
        author=mail.sender,
        message_id=mail.message_id,
        in_reply_to=mail.in_reply_to,
        references=mail.references,
        subject=mail.subject,
        body_text=mail.body_text,
        created_at=now,
    )
    session.add(message)
    if mail.attachments:
        await session.flush()  # the attachments need the message's id
    for a in mail.attachments:
        session.add(
            m.Attachment(
                message_id=message.id,
                filename=a.filename,
                content_type=a.content_type,
                size=len(a.data),
                content_id=a.content_id,
                data=a.data,
            )
        )
    if is_new:
        language = contact.language or box.language
        body = templates.render(
            "ack",
            box.tenant_name,
            language,
            name=mail.sender_name,
            tag=f"[#T-{ticket.number}]",
            tenant_display=box.tenant_display,
        )
        await queue_outbound(
            session,
            ticket,
            kind="ack",
            from_address=box.address,
            to_address=mail.sender,
            subject=f"Re: {with_tag(mail.subject, ticket.number)}",
            body=body,
            replying_to=message,
            author="system",
            now=now,
            make_id=make_id,
        )
    return IngestOutcome("new-ticket" if is_new else "added", ticket.number, how)


async def queue_outbound(
    session: AsyncSession,
    ticket: m.Ticket,
    *,
    kind: str,
    from_address: str,
    to_address: str,
    subject: str,
    body: str,
    replying_to: m.TicketMessage | None,
    author: str,
    now: datetime,
    make_id: MakeId = new_message_id,
    agent_id: int | None = None,
) -> m.OutboxMail:
    """The mail into the outbox and into the ticket's thread (same Message-ID, so answers to it thread)."""
    message_id = make_id(from_address)
    in_reply_to = replying_to.message_id if replying_to is not None else None
    references = [
        *(replying_to.references if replying_to is not None else []),
        *([in_reply_to] if in_reply_to else []),
    ][-20:]
    interaction = m.Interaction(
        channel="mail",
        direction="outbound",
        service_id=ticket.service_id,
        contact_id=ticket.contact_id,
        ticket_id=ticket.id,
        agent_id=agent_id,
        external_id=message_id[:255],
        from_address=from_address,
        to_address=to_address,
        offered_at=now,
        created_at=now,
    )
    session.add(interaction)
    await session.flush()
    session.add(
        m.InteractionEvent(
            at=now,
            kind="mail-queued",
            interaction_id=interaction.id,
            agent_id=agent_id,
            data={"ticket": ticket.number, "kind": kind},
        )
    )
    session.add(
        m.TicketMessage(
            ticket_id=ticket.id,
            interaction_id=interaction.id,
            kind="outbound",
            author=author[:254],
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=references,
            subject=subject[:500],
            body_text=body,
            created_at=now,
        )
    )
    outbox = m.OutboxMail(
        ticket_id=ticket.id,
        kind=kind,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        from_address=from_address,
        to_address=to_address,
        subject=subject[:500],
        body_text=body,
        status="queued",
        next_attempt_at=now,
        created_at=now,
    )
    session.add(outbox)
    return outbox
