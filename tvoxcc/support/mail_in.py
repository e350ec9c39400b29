"""Customer mails into tickets, a batch at a time: a fixed handful of statements per batch, not ~10 per mail.

The batch is decided in memory first (``tvoxcc.support.mail_plan``), after one bulk lookup per kind of
what the store already knows, then written with one multi-row INSERT per table. Nothing here commits:
the caller stores the batch and the mailbox's progress in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.interactions import Direction
from tvoxcc.journey.identify import contacts_by_email
from tvoxcc.mail.parse import ParsedMail
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.store.bulk import insert_rows, insert_rows_with_ids
from tvoxcc.store.tenancy import TenantViolation, session_tenant
from tvoxcc.support.ids import new_message_id
from tvoxcc.support.mail_plan import Batch, ContactRef, Plan, TicketDraft
from tvoxcc.support.opening import reserve_numbers
from tvoxcc.support.sla_store import status_event_row
from tvoxcc.support.status import TicketStatus
from tvoxcc.support.threading import tagged_number
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


async def _load(session: AsyncSession, batch: Batch, mails: Sequence[ParsedMail]) -> None:
    """What the store already knows about the batch: one query per kind of lookup."""
    # First: the tenant's ticket counter, locked until commit, so the numbers planned are the ones written.
    batch.next_number = await reserve_numbers(session, 0)
    message_id = m.TicketMessage.message_id
    batch.seen = {
        mid for (mid,) in await _in_chunks(session, select(message_id), message_id, [x.message_id for x in mails])
    }
    for email, contact in (await contacts_by_email(session, [x.sender for x in mails if x.sender])).items():
        batch.contacts[email] = ContactRef(contact.contact_id, contact.language)
    referenced = [i for x in mails for i in (x.in_reply_to, *x.references) if i]
    threads = select(message_id, m.TicketMessage.ticket_id)
    batch.ticket_of_message = {mid: tid for mid, tid in await _in_chunks(session, threads, message_id, referenced)}
    numbers = [n for x in mails if (n := tagged_number(x.subject)) is not None]
    tagged = select(m.Ticket.number, m.Ticket.id)
    batch.ticket_of_number = {n: tid for n, tid in await _in_chunks(session, tagged, m.Ticket.number, numbers)}
    candidates = set(batch.ticket_of_message.values()) | set(batch.ticket_of_number.values())
    for (ticket,) in await _in_chunks(session, select(m.Ticket), m.Ticket.id, candidates):
        batch.plan.tickets[ticket.id] = TicketDraft(
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
    return await insert_rows_with_ids(session, table, rows)


async def _write(session: AsyncSession, plan: Plan, now: datetime) -> None:
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
    batch = Batch(box, Plan(box.tenant_id), now, templates, make_id)
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
