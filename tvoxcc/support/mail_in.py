"""Customer mails into tickets, a batch at a time: a fixed handful of statements per batch, not ~10 per mail.

The batch is decided in memory first, in mail order, exactly as one-at-a-time ingestion would
decide it (a later mail may thread onto a ticket an earlier mail of the same batch opened), then
written with one bulk lookup per kind and one multi-row INSERT per table. Nothing here commits:
the caller stores the batch and the mailbox's progress in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import jinja2
from sqlalchemy import ColumnElement, Select, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.interactions import Direction, InteractionEventKind
from tvoxcc.journey.identify import contacts_by_email
from tvoxcc.mail.flags import MessageFlag, flag_list
from tvoxcc.mail.parse import ParsedMail, clean
from tvoxcc.mail.ratelimit import REASON as RATE_LIMITED
from tvoxcc.mail.templates import MailTemplates, render_chosen
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.store.bulk import insert_rows, insert_rows_returning_ids
from tvoxcc.store.tenancy import TenantViolation, session_tenant
from tvoxcc.support.ids import new_message_id
from tvoxcc.support.opening import FIRST_NUMBER, new_ticket_row, reserve_numbers
from tvoxcc.support.sla_store import status_event_row
from tvoxcc.support.status import MessageKind, TicketStatus, after_customer_message
from tvoxcc.support.threading import (
    choose_thread,
    tagged_number,
    with_tag,
    without_reply_prefixes,
)
from tvoxcc.support.tickets import IngestOutcome, Mailbox, MakeId

_IN_CHUNK = 500  # values per IN (...): far below SQLite's and PostgreSQL's bound-parameter limits


def _table(model: type[m.Base]) -> Table:
    return cast(Table, model.__table__)


async def _in_chunks(
    session: AsyncSession, query: Select[Any, *tuple[Any, ...]], key: Any, values: Iterable[Any]
) -> list[Any]:
    """Rows of ``query where key IN values``, a chunk of values per statement (tenant-filtered by the session)."""
    wanted = sorted(set(values))
    rows: list[Any] = []
    for start in range(0, len(wanted), _IN_CHUNK):
        where: ColumnElement[bool] = key.in_(wanted[start : start + _IN_CHUNK])
        rows.extend((await session.execute(query.where(where))).all())
    return rows


@dataclass
class _Ticket:
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
class _Contact:
    key: int  # the contact id, or a negative stand-in until inserted
    language: str | None


@dataclass
class _Plan:
    """Every row the batch writes; ticket and contact ids may still be stand-ins, interaction ids are indexes."""

    tenant_id: int
    new_contacts: list[tuple[int, str, str]] = field(default_factory=list)  # (stand-in, email, display name)
    tickets: dict[int, _Ticket] = field(default_factory=dict)
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


def _interaction_row(
    direction: Direction,
    ticket: _Ticket,
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


def _message_row(
    ticket: _Ticket,
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


class _Batch:
    """The in-memory state of one batch: what the store knew before it, and what the batch adds."""

    def __init__(self, box: Mailbox, plan: _Plan, now: datetime, templates: MailTemplates, make_id: MakeId) -> None:
        self.box, self.plan, self.now, self.templates, self.make_id = box, plan, now, templates, make_id
        self.seen: set[str] = set()  # Message-IDs stored as ticket messages (before or in this batch)
        self.contacts: dict[str, _Contact] = {}
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

    def contact(self, email: str, name: str) -> _Contact:
        found = self.contacts.get(email)
        if found is None:
            found = self.contacts[email] = _Contact(self.stand_in(), None)
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
            ticket = _Ticket(self.stand_in(), self.next_number, box.service_id, contact.key, TicketStatus.NEW, new=True)
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
            _interaction_row(
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
            _message_row(
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

    def acknowledge(self, ticket: _Ticket, mail: ParsedMail, contact: _Contact) -> None:
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
            _interaction_row(Direction.OUTBOUND, ticket, ticket.contact_key, message_id, box.address, mail.sender, now)
        )
        plan.events.append(
            (
                outbound,
                {"at": now, "kind": InteractionEventKind.MAIL_QUEUED, "data": {"ticket": ticket.number, "kind": ack}},
            )
        )
        plan.message(
            outbound,
            _message_row(
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


async def _load(session: AsyncSession, batch: _Batch, mails: Sequence[ParsedMail]) -> None:
    """What the store already knows about the batch: one query per kind of lookup."""
    # First: the tenant's ticket counter, locked until commit, so the numbers planned are the ones written.
    batch.next_number = await reserve_numbers(session, 0)
    message_id = m.TicketMessage.message_id
    batch.seen = {
        mid for (mid,) in await _in_chunks(session, select(message_id), message_id, [x.message_id for x in mails])
    }
    for email, contact in (await contacts_by_email(session, [x.sender for x in mails if x.sender])).items():
        batch.contacts[email] = _Contact(contact.contact_id, contact.language)
    referenced = [i for x in mails for i in (x.in_reply_to, *x.references) if i]
    threads = select(message_id, m.TicketMessage.ticket_id)
    batch.ticket_of_message = {mid: tid for mid, tid in await _in_chunks(session, threads, message_id, referenced)}
    numbers = [n for x in mails if (n := tagged_number(x.subject)) is not None]
    tagged = select(m.Ticket.number, m.Ticket.id)
    batch.ticket_of_number = {n: tid for n, tid in await _in_chunks(session, tagged, m.Ticket.number, numbers)}
    candidates = set(batch.ticket_of_message.values()) | set(batch.ticket_of_number.values())
    for (ticket,) in await _in_chunks(session, select(m.Ticket), m.Ticket.id, candidates):
        batch.plan.tickets[ticket.id] = _Ticket(
            ticket.id,
            ticket.number,
            ticket.service_id,
            ticket.contact_id,
            TicketStatus(ticket.status),
            new=False,
            row=ticket,
        )
    batch.closed = frozenset(t.key for t in batch.plan.tickets.values() if t.status is TicketStatus.CLOSED)
    limit = batch.box.sender_limit
    if limit is not None:  # accepted mails create inbound mail interactions; rejected ones never do
        window = (
            select(m.Interaction.from_address, func.count())
            .where(
                m.Interaction.offered_at > limit.window_start(batch.now),
                m.Interaction.channel == Channel.MAIL,
                m.Interaction.direction == Direction.INBOUND,
            )
            .group_by(m.Interaction.from_address)
        )
        senders = sorted({x.sender for x in mails if x.sender})
        batch.accepted = {
            sender: int(n) for sender, n in await _in_chunks(session, window, m.Interaction.from_address, senders)
        }


async def _insert(session: AsyncSession, model: type[m.Base], rows: list[dict[str, Any]], *, ids: bool) -> list[int]:
    """One bulk INSERT (tvoxcc.store.bulk); the new ids in the order of ``rows`` when asked for."""
    if not rows:
        return []
    table = _table(model)
    if not ids:
        await insert_rows(session, table, rows)
        return []
    if session.get_bind().dialect.name != "sqlite":
        return await insert_rows_returning_ids(session, table, rows)  # one INSERT … SELECT … ORDER BY … RETURNING
    # SQLite cannot order RETURNING rows, and SQLAlchemy would fall back to one INSERT per row. SQLite has a
    # single writer: take the ids after the highest. A concurrent writer that got there first makes the
    # INSERT fail on the primary key (IntegrityError), and the caller retries: never a wrong id.
    first = int((await session.execute(select(func.coalesce(func.max(table.c.id), 0)))).scalar_one()) + 1
    await insert_rows(session, table, [{**row, "id": first + i} for i, row in enumerate(rows)])
    return list(range(first, first + len(rows)))


async def _write(session: AsyncSession, plan: _Plan, now: datetime) -> None:
    """The planned rows into the store, parents first, stand-in ids replaced by the real ones."""
    contact_ids = dict(
        zip(
            [key for key, _, _ in plan.new_contacts],
            await _insert(
                session,
                m.Contact,
                [{"tenant_id": plan.tenant_id, "display_name": name[:200]} for _, _, name in plan.new_contacts],
                ids=True,
            ),
            strict=True,
        )
    )
    await _insert(
        session,
        m.ContactEmail,
        [
            {"tenant_id": plan.tenant_id, "contact_id": contact_ids[key], "email": email}
            for key, email, _ in plan.new_contacts
        ],
        ids=False,
    )
    new_tickets = [t for t in plan.tickets.values() if t.new]
    if new_tickets and await reserve_numbers(session, len(new_tickets)) != new_tickets[0].number:
        raise RuntimeError("ticket numbers moved while the batch held their counter")  # the lock makes this a bug
    rows = []
    for t in new_tickets:
        if t.contact_key is not None and t.contact_key < 0:
            t.contact_key = contact_ids[t.contact_key]
        rows.append({**t.first_row, "contact_id": t.contact_key, "tenant_id": plan.tenant_id})
    ticket_ids = dict(zip([t.key for t in new_tickets], await _insert(session, m.Ticket, rows, ids=True), strict=True))
    for t in plan.tickets.values():
        if t.row is not None and t.touched:
            t.row.status, t.row.updated_at = t.status, now  # one UPDATE per touched ticket, batched at flush

    def real(ids: dict[int, int], key: int | None) -> int | None:
        return ids.get(key, key) if key is not None else None

    await _insert(
        session,
        m.TicketEvent,
        [
            {**status_event_row(real(ticket_ids, key), status, now), "tenant_id": plan.tenant_id}
            for key, status in plan.statuses
        ],
        ids=False,
    )

    for row in plan.interactions:
        row["ticket_id"] = real(ticket_ids, row["ticket_id"])
        row["contact_id"] = real(contact_ids, row["contact_id"])
    interaction_ids = await _insert(session, m.Interaction, plan.interactions, ids=True)
    await _insert(
        session,
        m.InteractionEvent,
        [
            {**row, "tenant_id": plan.tenant_id, "interaction_id": interaction_ids[i], "agent_id": None}
            for i, row in plan.events
        ],
        ids=False,
    )
    message_rows = [
        {**row, "ticket_id": real(ticket_ids, row["ticket_id"]), "interaction_id": interaction_ids[i]}
        for i, row in plan.messages
    ]
    message_ids = await _insert(session, m.TicketMessage, message_rows, ids=bool(plan.attachments))
    await _insert(
        session, m.Attachment, [{**row, "message_id": message_ids[i]} for i, row in plan.attachments], ids=False
    )
    await _insert(
        session,
        m.OutboxMail,
        [{**row, "ticket_id": real(ticket_ids, row["ticket_id"])} for row in plan.outbox],
        ids=False,
    )
    await _insert(session, m.MailRejection, plan.rejections, ids=False)


async def ingest_mails(
    session: AsyncSession,
    box: Mailbox,
    mails: Sequence[tuple[int | None, ParsedMail]],
    *,
    now: datetime,
    templates: MailTemplates,
    make_id: MakeId = new_message_id,
) -> list[IngestOutcome]:
    """Each mail (with its IMAP UID, if any) becomes a ticket message, a duplicate or a stored rejection."""
    scoped = session_tenant(session.sync_session)
    if scoped != box.tenant_id:  # the bulk lookups rely on the session's tenant filter, the INSERTs name the tenant
        raise TenantViolation(f"mail for tenant {box.tenant_id} needs a session scoped to it, not to {scoped}")
    batch = _Batch(box, _Plan(box.tenant_id), now, templates, make_id)
    await _load(session, batch, [mail for _, mail in mails])
    outcomes = [batch.add(uid, mail) for uid, mail in mails]
    await _write(session, batch.plan, now)
    return outcomes


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
    """One mail: a batch of one."""
    return (await ingest_mails(session, box, [(uid, mail)], now=now, templates=templates, make_id=make_id))[0]
