"""Tickets from mail, and the agent's actions on them, over a tenant-scoped store session.

Nothing here commits: the caller owns the transaction, so an ingested mail, its ticket, its
acknowledgement in the outbox and the mailbox's progress are stored together or not at all.
Mails come in through ``tvoxcc.support.mail_in`` (a batch at a time).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.interactions import Direction, InteractionEventKind
from tvoxcc.mail.ratelimit import SenderLimit
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.support.ids import new_message_id
from tvoxcc.support.status import MessageKind

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


async def queue_outbound(
    session: AsyncSession,
    ticket: m.Ticket,
    *,
    kind: m.OutboxKind,
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
        channel=Channel.MAIL,
        direction=Direction.OUTBOUND,
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
            kind=InteractionEventKind.MAIL_QUEUED,
            interaction_id=interaction.id,
            agent_id=agent_id,
            data={"ticket": ticket.number, "kind": kind},
        )
    )
    session.add(
        m.TicketMessage(
            ticket_id=ticket.id,
            interaction_id=interaction.id,
            kind=MessageKind.OUTBOUND,
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
        status=m.OutboxStatus.QUEUED,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(outbox)
    return outbox
