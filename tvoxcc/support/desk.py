"""What agents do with tickets: list the queue, read a thread, reply, add a note, change the status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.interactions import Direction
from tvoxcc.mail.flags import MessageFlag
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.store.types import utcnow
from tvoxcc.support.ids import new_message_id
from tvoxcc.support.sla import Sla, describe, urgency_key
from tvoxcc.support.sla_store import change_status, refresh_sla, sla_by_ticket
from tvoxcc.support.status import MessageKind, TicketEventKind, TicketStatus, after_agent_reply, check_status_change
from tvoxcc.support.threading import ticket_tag, with_tag
from tvoxcc.support.ticket_items import withdraw
from tvoxcc.support.tickets import MakeId, TicketError, queue_outbound


async def ticket_by_number(session: AsyncSession, number: int) -> m.Ticket:
    ticket = (await session.execute(select(m.Ticket).where(m.Ticket.number == number))).scalar_one_or_none()
    if ticket is None:
        raise TicketError(f"no ticket T-{number}")
    return ticket


async def tenant_zone(session: AsyncSession) -> ZoneInfo:
    """The timezone of the session's tenant: due times are shown in it, as business hours are written."""
    return ZoneInfo((await session.execute(select(m.Tenant.timezone))).scalar_one())


def _local(at: datetime | None, zone: ZoneInfo) -> str | None:
    return at.astimezone(zone).isoformat(timespec="seconds") if at is not None else None


def _sla_fields(sla: Sla, zone: ZoneInfo) -> dict[str, Any]:
    clocks = {"first_response": sla.first_response, "resolution": sla.resolution}
    urgent = sla.most_urgent()
    return {
        "sla": describe(urgent, zone),
        "sla_due": _local(urgent.due, zone) if urgent is not None else None,
        "breached": [name for name, c in clocks.items() if c is not None and c.breached],
        "sla_clocks": {
            name: {
                "state": c.state,
                "due": _local(c.due, zone),
                "remaining_s": round(c.remaining_s),
            }
            for name, c in clocks.items()
            if c is not None
        },
    }


async def _for_agent(session: AsyncSession, name: str) -> Callable[[m.Ticket], bool]:
    """Which tickets concern agent ``name``: theirs, and the unassigned ones of their queues."""
    agent_id = (await session.execute(select(m.Agent.id).where(m.Agent.name == name))).scalar_one_or_none()
    if agent_id is None:
        raise TicketError(f"unknown agent {name!r}")
    mine = set(
        (await session.execute(select(m.QueueMember.queue_id).where(m.QueueMember.agent_id == agent_id))).scalars()
    )
    first_queue: dict[int, int] = {}
    for queue_id, service_id in (
        await session.execute(select(m.Queue.id, m.Queue.service_id).order_by(m.Queue.name))
    ).all():
        first_queue.setdefault(service_id, queue_id)

    def concerns(t: m.Ticket) -> bool:
        if t.assignee_agent_id is not None:
            return t.assignee_agent_id == agent_id
        queue_id = t.queue_id if t.queue_id is not None else first_queue.get(t.service_id or 0)
        return queue_id in mine

    return concerns


async def queue_rows(
    session: AsyncSession, *, include_all: bool = False, now: datetime | None = None, agent: str | None = None
) -> list[dict[str, Any]]:
    """The mail queue, most urgent first: SLA breached, then least SLA time left, then priority, then age.
    ``agent``: only what waits for that agent (their tickets and the unassigned ones of their queues)."""
    now = now or utcnow()
    concerns = await _for_agent(session, agent) if agent is not None else None
    query = (
        select(m.Ticket, m.ContactEmail.email, m.Agent.name)
        .outerjoin(m.ContactEmail, m.ContactEmail.contact_id == m.Ticket.contact_id)
        .outerjoin(m.Agent, m.Agent.id == m.Ticket.assignee_agent_id)
    )
    if not include_all:
        query = query.where(m.Ticket.status.in_(TicketStatus.WORKING))
    rows = (await session.execute(query.order_by(m.Ticket.number))).all()
    seen: dict[int, tuple[m.Ticket, str, str]] = {}
    for ticket, email, agent_name in rows:
        if concerns is None or concerns(ticket):
            seen.setdefault(ticket.number, (ticket, email or "", agent_name or ""))
    slas = await sla_by_ticket(session, [t for t, _, _ in seen.values()], now)
    zone = await tenant_zone(session)
    ordered = sorted(seen.values(), key=lambda r: urgency_key(slas[r[0].id], r[0].priority, r[0].created_at))
    return [
        {
            "number": f"T-{ticket.number}",
            "status": ticket.status,
            "priority": ticket.priority,
            "customer": email,
            "agent": agent,
            "subject": ticket.subject,
            "updated": ticket.updated_at.isoformat(timespec="seconds"),
            **_sla_fields(slas[ticket.id], zone),
        }
        for ticket, email, agent in ordered
    ]


async def thread_of(session: AsyncSession, number: int, *, now: datetime | None = None) -> dict[str, Any]:
    ticket = await ticket_by_number(session, number)
    sla = (await sla_by_ticket(session, [ticket], now or utcnow()))[ticket.id]
    agent = (await session.get(m.Agent, ticket.assignee_agent_id)) if ticket.assignee_agent_id else None
    messages = (
        (
            await session.execute(
                select(m.TicketMessage).where(m.TicketMessage.ticket_id == ticket.id).order_by(m.TicketMessage.id)
            )
        )
        .scalars()
        .all()
    )
    ids = [msg.id for msg in messages]
    attachments = (
        (await session.execute(select(m.Attachment).where(m.Attachment.message_id.in_(ids)))).scalars().all()
        if ids
        else []
    )
    outbox = {
        o.message_id: o.status
        for o in (await session.execute(select(m.OutboxMail).where(m.OutboxMail.ticket_id == ticket.id))).scalars()
    }
    return {
        "number": f"T-{ticket.number}",
        "status": ticket.status,
        "subject": ticket.subject,
        "priority": ticket.priority,
        "agent": agent.name if agent is not None else "",
        **_sla_fields(sla, await tenant_zone(session)),
        "messages": [
            {
                "kind": msg.kind,
                "author": msg.author,
                "at": msg.created_at.isoformat(timespec="seconds"),
                "subject": msg.subject,
                "message_id": msg.message_id,
                "in_reply_to": msg.in_reply_to,
                "delivery": outbox.get(msg.message_id or ""),
                "body": msg.body_text,
                "flags": list(msg.flags or []),
                "attachments": [
                    {"filename": a.filename, "content_type": a.content_type, "size": a.size, "blocked": a.blocked}
                    for a in attachments
                    if a.message_id == msg.id
                ],
            }
            for msg in messages
        ],
    }


async def _mailbox_address(session: AsyncSession, ticket: m.Ticket) -> str:
    # The address the customer first wrote to is the one we answer from.
    address = (
        await session.execute(
            select(m.Interaction.to_address)
            .where(m.Interaction.ticket_id == ticket.id, m.Interaction.direction == Direction.INBOUND)
            .order_by(m.Interaction.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if not address:
        raise TicketError(f"ticket T-{ticket.number} has no inbound mail to answer")
    return address


async def _last_customer_mail(session: AsyncSession, ticket: m.Ticket) -> m.TicketMessage | None:
    """The customer's newest mail; a copy of our own mail that came back (flagged loop) is no one's to answer."""
    found = await session.execute(
        select(m.TicketMessage)
        .where(m.TicketMessage.ticket_id == ticket.id, m.TicketMessage.kind == MessageKind.INBOUND)
        .order_by(m.TicketMessage.id.desc())
    )
    inbound = list(found.scalars())
    return next((msg for msg in inbound if MessageFlag.LOOP not in (msg.flags or [])), inbound[0] if inbound else None)


async def _answer_customer(
    session: AsyncSession,
    ticket: m.Ticket,
    last: m.TicketMessage,
    *,
    kind: m.OutboxKind,
    body: str,
    author: str,
    now: datetime,
    make_id: MakeId,
) -> m.OutboxMail:
    """A mail in the customer's thread: from the address they wrote to, answering their last mail, tagged."""
    return await queue_outbound(
        session,
        ticket,
        kind=kind,
        from_address=await _mailbox_address(session, ticket),
        to_address=last.author,
        subject=f"Re: {with_tag(ticket.subject, ticket.number)}",
        body=body,
        replying_to=last,
        author=author,
        now=now,
        make_id=make_id,
    )


async def reply(
    session: AsyncSession,
    number: int,
    body: str,
    *,
    tenant_name: str,
    tenant_display: str,
    agent: str,
    now: datetime,
    templates: MailTemplates,
    make_id: MakeId = new_message_id,
) -> m.OutboxMail:
    """Queue an agent's answer quoting the customer's last mail; the ticket waits for the customer."""
    if not body.strip():
        raise TicketError("empty reply: nothing queued")
    ticket = await ticket_by_number(session, number)
    if ticket.status == TicketStatus.CLOSED:
        raise TicketError(f"ticket T-{number} is closed")
    last = await _last_customer_mail(session, ticket)
    if last is None:
        raise TicketError(f"ticket T-{number} has no customer mail to answer")
    contact = await session.get(m.Contact, ticket.contact_id) if ticket.contact_id else None
    language = contact.language if contact is not None else None
    text = templates.render(
        "reply",
        tenant_name,
        language,
        body=body.strip(),
        agent=agent,
        tenant_display=tenant_display,
        tag=ticket_tag(number),
        quoted=last.body_text,
        quoted_author=last.author,
        quoted_date=last.created_at.strftime("%Y-%m-%d %H:%M UTC"),
    )
    outbox = await _answer_customer(
        session, ticket, last, kind=m.OutboxKind.REPLY, body=text, author=agent, now=now, make_id=make_id
    )
    if ticket.first_responded_at is None:
        ticket.first_responded_at = now
        session.add(
            m.TicketEvent(ticket_id=ticket.id, at=now, kind=TicketEventKind.FIRST_RESPONSE, data={"author": agent})
        )
    previous = change_status(session, ticket, after_agent_reply(ticket.status), now)
    if previous != ticket.status and ticket.status not in TicketStatus.AWAITING_US:
        await withdraw(session, ticket)  # waiting on the customer: the agent's capacity is free
    await refresh_sla(session, [ticket], now)
    return outbox


async def note(session: AsyncSession, number: int, body: str, *, agent: str, now: datetime) -> None:
    """An internal note: part of the thread and the journey, never mailed."""
    if not body.strip():
        raise TicketError("empty note")
    ticket = await ticket_by_number(session, number)
    interaction = m.Interaction(
        channel=Channel.MAIL,
        direction=Direction.INTERNAL,
        ticket_id=ticket.id,
        contact_id=ticket.contact_id,
        service_id=ticket.service_id,
        offered_at=now,
        created_at=now,
    )
    session.add(interaction)
    await session.flush()
    session.add(
        m.TicketMessage(
            ticket_id=ticket.id,
            interaction_id=interaction.id,
            kind=MessageKind.NOTE,
            author=agent[:254],
            body_text=body.strip(),
            created_at=now,
        )
    )
    ticket.updated_at = now


@dataclass(frozen=True)
class Notifier:
    """What a customer notification needs besides the ticket: whose mail it is and its templates."""

    tenant_name: str
    tenant_display: str
    templates: MailTemplates
    make_id: MakeId = new_message_id


async def set_status(
    session: AsyncSession, number: int, status: str, *, now: datetime, notify: Notifier | None = None
) -> str:
    """Change the status; with ``notify``, a ticket becoming solved tells the customer (they may answer to reopen)."""
    ticket = await ticket_by_number(session, number)
    problem = check_status_change(ticket.status, status)
    if problem:
        raise TicketError(f"T-{number}: {problem}")
    previous = change_status(session, ticket, TicketStatus(status), now)
    if status not in TicketStatus.AWAITING_US:
        await withdraw(session, ticket)  # the agent no longer holds it: the ACD frees their capacity
    if status == TicketStatus.SOLVED:
        ticket.solved_at = now
        if previous != TicketStatus.SOLVED and notify is not None:
            await _tell_solved(session, ticket, notify, now)
    if status == TicketStatus.CLOSED:
        ticket.closed_at = now
    await refresh_sla(session, [ticket], now)
    return previous


async def _tell_solved(session: AsyncSession, ticket: m.Ticket, notify: Notifier, now: datetime) -> None:
    """The "solved" mail, in the customer's thread; a ticket no customer mail opened (a voicemail) has none."""
    last = await _last_customer_mail(session, ticket)
    if last is None:
        return
    contact = await session.get(m.Contact, ticket.contact_id) if ticket.contact_id else None
    body = notify.templates.render(
        "solved",
        notify.tenant_name,
        contact.language if contact is not None else None,
        name=contact.display_name if contact is not None and contact.display_name != last.author else "",
        tag=ticket_tag(ticket.number),
        subject=ticket.subject,
        tenant_display=notify.tenant_display,
    )
    await _answer_customer(
        session, ticket, last, kind=m.OutboxKind.SOLVED, body=body, author="system", now=now, make_id=notify.make_id
    )


async def set_priority(session: AsyncSession, number: int, priority: int, *, now: datetime) -> int:
    """Change a ticket's priority (higher first for the ACD and, after the SLA, in the queue); returns the old one."""
    if not 0 <= priority <= 100:
        raise TicketError(f"priority {priority} out of range: use 0 to 100")
    ticket = await ticket_by_number(session, number)
    previous, ticket.priority, ticket.updated_at = ticket.priority, priority, now
    session.add(
        m.TicketEvent(
            ticket_id=ticket.id, at=now, kind=TicketEventKind.PRIORITY, data={"from": previous, "to": priority}
        )
    )
    return previous


async def assign(session: AsyncSession, number: int, agent_name: str | None, *, now: datetime) -> None:
    """Hand a ticket to an agent by hand (None: unassign), over the ACD and the agent's capacity."""
    ticket = await ticket_by_number(session, number)
    agent_id = None
    if agent_name is not None:
        agent_id = (await session.execute(select(m.Agent.id).where(m.Agent.name == agent_name))).scalar_one_or_none()
        if agent_id is None:
            raise TicketError(f"unknown agent {agent_name!r}")
    if agent_id != ticket.assignee_agent_id:
        await withdraw(session, ticket)  # the ACD's item for it (waiting, or in someone's hands) is freed
    take(session, ticket, agent_id, now, by="manual")


def take(session: AsyncSession, ticket: m.Ticket, agent_id: int | None, now: datetime, *, by: str) -> None:
    """Assign (or unassign) and record who decided: manual, next (the agent asked the ACD) or acd."""
    ticket.assignee_agent_id, ticket.updated_at = agent_id, now
    session.add(
        m.TicketEvent(ticket_id=ticket.id, at=now, kind=TicketEventKind.ASSIGNED, agent_id=agent_id, data={"by": by})
    )
    if agent_id is not None and ticket.status == TicketStatus.NEW:
        change_status(session, ticket, TicketStatus.OPEN, now, agent_id=agent_id)  # someone is on it
