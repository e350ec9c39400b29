"""A batch of customer mails decided in memory, in mail order, exactly as one-at-a-time ingestion would decide
it (a later mail may thread onto a ticket an earlier mail of the same batch opened): the rows to write, with
stand-in ids for the tickets and contacts not stored yet. No I/O: ``tvoxcc.support.mail_in`` loads what the
store already knows into a ``Batch`` and writes its ``Plan``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jinja2

from tvoxcc.interactions import Direction, InteractionEventKind
from tvoxcc.mail.flags import MessageFlag, flag_list
from tvoxcc.mail.parse import ParsedMail, clean
from tvoxcc.mail.ratelimit import REASON as RATE_LIMITED
from tvoxcc.mail.templates import MailTemplates, render_chosen
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.support.opening import FIRST_NUMBER, new_ticket_row
from tvoxcc.support.status import MessageKind, TicketStatus, after_customer_message
from tvoxcc.support.threading import choose_thread, with_tag, without_reply_prefixes
from tvoxcc.support.tickets import IngestOutcome, Mailbox, MakeId


@dataclass
class TicketDraft:
    """A ticket the batch opens or adds to."""

    key: int  # the ticket id, or a negative stand-in until a new ticket is inserted
    number: int
    service_id: int | None
    contact_key: int | None
    status: TicketStatus
    new: bool
    row: m.Ticket | None = None  # the loaded ORM row of an existing ticket (its status is updated through it)
    first_row: dict[str, Any] = field(default_factory=dict)  # a new ticket's INSERT values
    touched: bool = False  # an existing ticket that got a mail in this batch


@dataclass
class ContactRef:
    """A sender: a known contact, or one the batch creates."""

    key: int  # the contact id, or a negative stand-in until inserted
    language: str | None


@dataclass
class Plan:
    """Every row the batch writes; ticket and contact ids may still be stand-ins, interaction ids are indexes."""

    tenant_id: int
    new_contacts: list[tuple[int, str, str]] = field(default_factory=list)  # (stand-in, email, display name)
    tickets: dict[int, TicketDraft] = field(default_factory=dict)
    interactions: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (interaction index, row)
    messages: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (interaction index, row)
    attachments: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (message index, row)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[tuple[int, TicketStatus]] = field(default_factory=list)  # (ticket key, new status): the SLA history

    def interaction(self, row: dict[str, Any]) -> int:
        self.interactions.append({**row, "tenant_id": self.tenant_id})
        return len(self.interactions) - 1

    def message(self, interaction: int, row: dict[str, Any]) -> int:
        self.messages.append((interaction, {**row, "tenant_id": self.tenant_id}))
        return len(self.messages) - 1


def interaction_row(
    direction: Direction,
    ticket: TicketDraft,
    contact_key: int | None,
    external_id: str,
    sender: str,
    to: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "channel": Channel.MAIL,
        "direction": direction,
        "service_id": ticket.service_id,
        "contact_id": contact_key,
        "ticket_id": ticket.key,
        "agent_id": None,
        "external_id": external_id[:255],
        "from_address": sender,
        "to_address": to,
        "offered_at": now,
        "created_at": now,
    }


def message_row(
    ticket: TicketDraft,
    kind: MessageKind,
    author: str,
    message_id: str,
    in_reply_to: str | None,
    references: list[str],
    subject: str,
    body: str,
    now: datetime,
    flags: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "ticket_id": ticket.key,
        "kind": kind,
        "author": author,
        "message_id": message_id,
        "in_reply_to": in_reply_to,
        "references": references,
        "subject": subject,
        "body_text": body,
        "flags": flags or [],
        "created_at": now,
    }


class Batch:
    """The in-memory state of one batch: what the store knew before it, and what the batch adds."""

    def __init__(self, box: Mailbox, plan: Plan, now: datetime, templates: MailTemplates, make_id: MakeId) -> None:
        self.box, self.plan, self.now, self.templates, self.make_id = box, plan, now, templates, make_id
        self.seen: set[str] = set()  # Message-IDs stored as ticket messages (before or in this batch)
        self.contacts: dict[str, ContactRef] = {}
        self.ticket_of_message: dict[str, int] = {}
        self.ticket_of_number: dict[int, int] = {}
        self.closed: frozenset[int] = frozenset()
        self.next_number = FIRST_NUMBER  # from the counter, in _load
        self._stand_in = 0
        self.acks: dict[str, jinja2.Template] = {}
        self.accepted: dict[str, int] = {}  # per sender: accepted mails in the rate limit's window, this batch too

    def stand_in(self) -> int:
        self._stand_in -= 1
        return self._stand_in

    def contact(self, email: str, name: str) -> ContactRef:
        found = self.contacts.get(email)
        if found is None:
            found = self.contacts[email] = ContactRef(self.stand_in(), None)
            self.plan.new_contacts.append((found.key, email, name or email))
        return found

    def add(self, uid: int | None, mail: ParsedMail) -> IngestOutcome:
        box, plan, now = self.box, self.plan, self.now
        if mail.message_id in self.seen:
            return IngestOutcome("duplicate", reason="message-id already stored")
        reason = mail.rejection or ("sent by this mailbox (loop)" if mail.sender == box.address.casefold() else None)
        if (
            reason is None
            and box.sender_limit is not None
            and box.sender_limit.exceeded(self.accepted.get(mail.sender, 0))
        ):
            reason = RATE_LIMITED
        if reason:
            plan.rejections.append(
                {
                    "tenant_id": plan.tenant_id,
                    "mailbox": clean(box.key, 300),
                    "uid": uid,
                    "message_id": mail.message_id,
                    "sender": mail.sender,
                    "subject": mail.subject,
                    "reason": reason[:200],
                }
            )
            return IngestOutcome("rejected", reason=reason)
        self.accepted[mail.sender] = self.accepted.get(mail.sender, 0) + 1
        # Our own X-Loop: a copy of a mail we sent, brought back by a forwarding rule or an autoresponder that
        # kept our headers. Stored (nothing is lost), but never acknowledged and never reopening a ticket, so a
        # loop ends here; as Zammad does with auto-responses (RT drops them unless StoreLoops is set).
        looped = box.address.casefold() in mail.loop_addresses
        flags = flag_list(mail.flags | {MessageFlag.LOOP}) if looped else flag_list(mail.flags)
        contact = self.contact(mail.sender, mail.sender_name)
        choice = choose_thread(
            mail.in_reply_to, mail.references, mail.subject, self.ticket_of_message, self.ticket_of_number, self.closed
        )
        ticket = plan.tickets.get(choice.ticket_id) if choice.ticket_id is not None else None
        is_new = ticket is None
        if ticket is None:
            ticket = TicketDraft(
                self.stand_in(), self.next_number, box.service_id, contact.key, TicketStatus.NEW, new=True
            )
            self.next_number += 1
            ticket.first_row = new_ticket_row(
                ticket.number,
                subject=without_reply_prefixes(mail.subject),
                service_id=ticket.service_id,
                contact_id=contact.key,
                now=now,
            )
            plan.tickets[ticket.key] = ticket
            self.ticket_of_number[ticket.number] = ticket.key
            plan.statuses.append((ticket.key, TicketStatus.NEW))  # the SLA clocks start here
        elif not looped:
            status = after_customer_message(ticket.status)
            if status != ticket.status:
                plan.statuses.append((ticket.key, status))
            ticket.status, ticket.touched = status, True
        inbound = plan.interaction(
            interaction_row(
                Direction.INBOUND, ticket, contact.key, mail.message_id, mail.sender, clean(box.address, 254), now
            )
        )
        plan.events.append(
            (
                inbound,
                {
                    "at": now,
                    "kind": InteractionEventKind.OFFERED,
                    "data": {"ticket": ticket.number, "thread": choice.reason},
                },
            )
        )
        message = plan.message(
            inbound,
            message_row(
                ticket,
                MessageKind.INBOUND,
                mail.sender,
                mail.message_id,
                mail.in_reply_to,
                mail.references,
                mail.subject,
                mail.body_text,
                now,
                flags,
            ),
        )
        self.seen.add(mail.message_id)
        self.ticket_of_message[mail.message_id] = ticket.key
        for a in mail.attachments:
            plan.attachments.append(
                (
                    message,
                    {
                        "tenant_id": plan.tenant_id,
                        "filename": a.filename,
                        "content_type": a.content_type,
                        "size": a.sent_size,
                        "content_id": a.content_id,
                        "data": a.data,
                        "blocked": a.blocked,
                    },
                )
            )
        if is_new and not looped:
            self.acknowledge(ticket, mail, contact)
        return IngestOutcome("new-ticket" if is_new else "added", ticket.number, choice.reason)

    def acknowledge(self, ticket: TicketDraft, mail: ParsedMail, contact: ContactRef) -> None:
        """The new-ticket acknowledgement, as ``queue_outbound`` writes it: outbox row, thread message, interaction."""
        box, plan, now, ack = self.box, self.plan, self.now, m.OutboxKind.ACK
        language = contact.language or box.language
        chosen = self.acks.get(language)
        if chosen is None:  # looked up once per batch: each lookup probes the override folders on disk
            chosen = self.acks[language] = self.templates.choose("ack", box.tenant_name, language)
        body = render_chosen(
            chosen,
            name=mail.sender_name,
            tag=f"[#T-{ticket.number}]",
            tenant_display=box.tenant_display,
        )
        subject = f"Re: {with_tag(mail.subject, ticket.number)}"[:500]
        message_id = self.make_id(box.address)
        references = [*mail.references, mail.message_id][-20:]
        outbound = plan.interaction(
            interaction_row(Direction.OUTBOUND, ticket, ticket.contact_key, message_id, box.address, mail.sender, now)
        )
        plan.events.append(
            (
                outbound,
                {"at": now, "kind": InteractionEventKind.MAIL_QUEUED, "data": {"ticket": ticket.number, "kind": ack}},
            )
        )
        plan.message(
            outbound,
            message_row(
                ticket, MessageKind.OUTBOUND, "system", message_id, mail.message_id, references, subject, body, now
            ),
        )
        self.seen.add(message_id)
        self.ticket_of_message[message_id] = ticket.key
        plan.outbox.append(
            {
                "tenant_id": plan.tenant_id,
                "ticket_id": ticket.key,
                "kind": ack,
                "message_id": message_id,
                "in_reply_to": mail.message_id,
                "references": references,
                "from_address": box.address,
                "to_address": mail.sender,
                "subject": subject,
                "body_text": body,
                "status": m.OutboxStatus.QUEUED,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
