"""Retention: a tenant's interactions and mails older than its ``retention_days`` (``tvoxcc tenant set T
--retention-days N``) are deleted with what hangs on them, by `insight run` once an hour.

Gone: interactions offered before the cutoff with their events, survey answers, recording files and their
recordings in the repository (those on legal hold stay, unlinked from the call that is gone); tickets
solved or closed with no change since the cutoff, with their messages, attachments, events and mails; other
mails sent (or failed) about no ticket and mail rejections older than the cutoff; callbacks requested before it;
webchats and SMS chats closed before it, with their messages (an open chat is kept whatever its age). Kept:
an old interaction that an open (or recent) ticket's thread points at, and Insight's pre-aggregated slots,
so reports of purged days still have their counts where ``insight run`` built them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc import audit
from tvoxcc.chat.core import ChatStatus
from tvoxcc.journey.privacy_store import delete_files, recording_paths
from tvoxcc.recordings.repository import Repository
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.support.status import TicketStatus

CHUNK = 500  # ids per IN (...)
ACTOR = "system:retention"  # as the recordings' own retention (tvoxcc.recordings.retention)


def cutoff(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[i : i + CHUNK]) for i in range(0, len(ids), CHUNK)]


async def _ids(session: AsyncSession, query: Any) -> list[int]:
    return sorted(int(i) for i in (await session.execute(query)).scalars())


async def _each(session: AsyncSession, ids: Sequence[int], make: Any) -> int:
    """Run ``make(chunk)`` (an UPDATE or DELETE) for every chunk of ids; the rows it touched."""
    done = 0
    for chunk in _chunks(ids):
        result: Any = await session.execute(make(chunk).execution_options(synchronize_session=False))
        done += int(result.rowcount or 0)
    return done


async def _recordings(
    session: AsyncSession, interactions: Sequence[int], repository: Repository | None, tenant: str, before: datetime
) -> dict[str, int]:
    """The repository's recordings of the purged interactions: deleted (files first, as the Asterisk folder's),
    audited as the recordings' own purge is; those on legal hold kept, their link to the call cleared here
    rather than left to the foreign key's ON DELETE SET NULL (a connection without SQLite's foreign_keys
    pragma would otherwise leave them naming a deleted row)."""
    r = m.Recording
    rows: list[m.Recording] = []
    for chunk in _chunks(interactions):
        rows += (await session.execute(select(r).where(r.interaction_id.in_(chunk)))).scalars()
    gone = sorted((x for x in rows if not x.legal_hold), key=lambda x: x.id)
    held = [x.id for x in rows if x.legal_hold]
    if repository is not None:
        for row in gone:
            repository.discard(row)
    await _each(session, [x.id for x in gone], lambda c: delete(r).where(r.id.in_(c)))
    await _each(session, held, lambda c: update(r).where(r.id.in_(c)).values(interaction_id=None))
    if gone:
        await audit.record(
            session,
            actor=ACTOR,
            action=audit.AuditAction.RECORDING_PURGE,
            tenant=tenant,
            subject=f"{len(gone)} recordings of interactions past the tenant's retention",
            detail={"ids": [x.id for x in gone], "before": before.isoformat(), "held": sorted(held)},
        )
    return {"recordings": len(gone), "recordings_held": len(held)}


async def purge(
    session: AsyncSession,
    before: datetime,
    recordings_dir: Path | None,
    repository: Repository | None,
    tenant: str,
) -> dict[str, int]:
    """Delete the tenant session's expired rows (see the module's docstring); the caller commits."""
    t, msg, i = m.Ticket, m.TicketMessage, m.Interaction
    tickets = await _ids(session, select(t.id).where(t.updated_at < before, t.status.in_(TicketStatus.DONE)))
    kept_threads = select(msg.interaction_id).where(msg.interaction_id.is_not(None), msg.ticket_id.not_in(tickets))
    interactions = await _ids(session, select(i.id).where(i.offered_at < before, i.id.not_in(kept_threads)))
    names: list[str | None] = []
    for chunk in _chunks(interactions):
        names += (await session.execute(select(i.recording).where(i.id.in_(chunk), i.recording.is_not(None)))).scalars()
    files = delete_files(recording_paths(names, recordings_dir))  # first: see privacy_erase.erase
    stored = await _recordings(session, interactions, repository, tenant, before)
    messages = []
    for chunk in _chunks(tickets):
        messages += await _ids(session, select(msg.id).where(msg.ticket_id.in_(chunk)))
    cb = m.Callback
    counts = {"recording_files": files + stored["recordings"], **stored}
    counts["callbacks"] = (
        await session.execute(delete(cb).where(cb.requested_at < before).execution_options(synchronize_session=False))
    ).rowcount or 0  # type: ignore[attr-defined]
    await _each(
        session, interactions, lambda c: update(cb).where(cb.requested_by_id.in_(c)).values(requested_by_id=None)
    )
    await _each(session, interactions, lambda c: update(cb).where(cb.placed_as_id.in_(c)).values(placed_as_id=None))
    await _each(session, interactions, lambda c: delete(m.NpsAnswer).where(m.NpsAnswer.interaction_id.in_(c)))
    await _each(
        session, interactions, lambda c: delete(m.InteractionEvent).where(m.InteractionEvent.interaction_id.in_(c))
    )
    await _each(
        session, interactions, lambda c: update(msg).where(msg.interaction_id.in_(c)).values(interaction_id=None)
    )
    counts["attachments"] = await _each(
        session, messages, lambda c: delete(m.Attachment).where(m.Attachment.message_id.in_(c))
    )
    counts["ticket_messages"] = await _each(session, messages, lambda c: delete(msg).where(msg.id.in_(c)))
    await _each(session, tickets, lambda c: delete(m.TicketEvent).where(m.TicketEvent.ticket_id.in_(c)))
    box = m.OutboxMail
    counts["outbox_mails"] = await _each(session, tickets, lambda c: delete(box).where(box.ticket_id.in_(c)))
    await _each(session, tickets, lambda c: update(i).where(i.ticket_id.in_(c)).values(ticket_id=None))
    counts["interactions"] = await _each(session, interactions, lambda c: delete(i).where(i.id.in_(c)))
    counts["tickets"] = await _each(session, tickets, lambda c: delete(t).where(t.id.in_(c)))
    # a kept ticket keeps its mails (its thread); a mail still to send is kept whatever its age
    old_mail = and_(box.status != m.OutboxStatus.QUEUED, box.ticket_id.is_(None))
    result: Any = await session.execute(
        delete(box).where(box.created_at < before, old_mail).execution_options(synchronize_session=False)
    )
    counts["outbox_mails"] += int(result.rowcount or 0)
    result = await session.execute(
        delete(m.MailRejection).where(m.MailRejection.created_at < before).execution_options(synchronize_session=False)
    )
    counts["mail_rejections"] = int(result.rowcount or 0)
    chat = m.Chat
    chats = await _ids(session, select(chat.id).where(chat.status == ChatStatus.CLOSED, chat.closed_at < before))
    said = m.ChatMessage
    counts["chat_messages"] = await _each(session, chats, lambda c: delete(said).where(said.chat_id.in_(c)))
    counts["chats"] = await _each(session, chats, lambda c: delete(chat).where(chat.id.in_(c)))
    return counts


async def purge_expired(
    store: Store, now: datetime, recordings_dir: Path | None, repository: Repository | None
) -> dict[str, dict[str, int]]:
    """Every tenant with a retention: one transaction each; what went, per tenant (those that lost nothing left out)."""
    async with store.session() as session:
        tenants = (
            await session.execute(
                select(m.Tenant.id, m.Tenant.name, m.Tenant.retention_days).where(m.Tenant.retention_days.is_not(None))
            )
        ).all()
    done: dict[str, dict[str, int]] = {}
    for tenant_id, name, days in tenants:
        async with store.tenant(tenant_id) as session:
            counts = await purge(session, cutoff(now, int(days or 0)), recordings_dir, repository, name)
            await session.commit()
        if any(counts.values()):
            done[name] = counts
    return done
