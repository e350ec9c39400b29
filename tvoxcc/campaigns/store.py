"""Campaigns in the store: add and change them, who works them, their lists, do-not-call numbers, statistics.

The operator's side (tvoxcc campaign …). Every change is one transaction; a refused one stores nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc import audit
from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.hierarchy import working_queues
from tvoxcc.admin.repository import find_tenant, tenant_id_of
from tvoxcc.admin.spec import NAME_RE
from tvoxcc.campaigns.contact_list import ListedRecord
from tvoxcc.campaigns.ledger import AbandonLedger, LedgerEntry
from tvoxcc.campaigns.model import RULE_WINDOW_S, AbandonRule, CampaignStatus, DialMode, RecordState
from tvoxcc.campaigns.spec import CampaignSettings, SpecError
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

# Which statuses each command may leave from: a stopped campaign stays stopped (its records keep their states).
STATUS_FROM: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.RUNNING: frozenset({CampaignStatus.DRAFT, CampaignStatus.PAUSED}),
    CampaignStatus.PAUSED: frozenset({CampaignStatus.RUNNING}),
    CampaignStatus.STOPPED: frozenset({CampaignStatus.DRAFT, CampaignStatus.RUNNING, CampaignStatus.PAUSED}),
}

# The audit row each command writes (in the transaction that changes the status).
STATUS_ACTIONS: dict[CampaignStatus, audit.AuditAction] = {
    CampaignStatus.RUNNING: audit.AuditAction.CAMPAIGN_START,
    CampaignStatus.PAUSED: audit.AuditAction.CAMPAIGN_PAUSE,
    CampaignStatus.STOPPED: audit.AuditAction.CAMPAIGN_STOP,
}


@dataclass(frozen=True, slots=True)
class CampaignDraft:
    """What an operator sets on a campaign."""

    mode: DialMode = DialMode.PROGRESSIVE
    rule: AbandonRule = AbandonRule.US_30_DAYS
    caller_id: str = ""
    settings: CampaignSettings = field(default_factory=CampaignSettings)
    queues: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CampaignView:
    name: str
    status: str
    draft: CampaignDraft
    records: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        d = self.draft
        return {
            "name": self.name,
            "status": self.status,
            "mode": d.mode.value,
            "rule": d.rule.value,
            "caller_id": d.caller_id,
            "queues": list(d.queues),
            "groups": list(d.groups),
            **d.settings.to_json(),
            "records": self.records,
        }


async def save_campaign(store: Store, tenant: str, name: str, draft: CampaignDraft, *, new: bool) -> CampaignView:
    if not NAME_RE.match(name):
        raise AdminError(f"campaign name {name!r}: lower-case letters, digits, - and _ (up to 64)")
    try:
        draft.settings.check()
    except SpecError as exc:
        raise AdminError(f"campaign {name!r}: {exc}") from None
    async with store.tenant(await tenant_id_of(store, tenant)) as session:
        row = await _campaign(session, name, missing_ok=new)
        if new and row is not None:
            raise AdminError(f"campaign {name!r} already exists in tenant {tenant!r}: change it with `campaign set`")
        if row is None:
            row = m.Campaign(name=name)
            session.add(row)
        row.mode, row.rule, row.caller_id = draft.mode.value, draft.rule.value, draft.caller_id
        row.settings = draft.settings.to_json()
        await session.flush()
        queue_ids = await _ids(session, m.Queue, draft.queues, "queue")
        group_ids = await _ids(session, m.AgentGroup, draft.groups, "group")
        await session.execute(delete(m.CampaignQueue).where(m.CampaignQueue.campaign_id == row.id))
        await session.execute(delete(m.CampaignGroup).where(m.CampaignGroup.campaign_id == row.id))
        session.add_all(m.CampaignQueue(campaign_id=row.id, queue_id=q) for q in queue_ids)
        session.add_all(m.CampaignGroup(campaign_id=row.id, group_id=g) for g in group_ids)
        await session.commit()
        return await _view(session, row)


async def get_campaign(store: Store, tenant: str, name: str) -> CampaignView:
    async with store.tenant(await tenant_id_of(store, tenant)) as session:
        row = await _campaign(session, name)
        assert row is not None
        return await _view(session, row)


async def list_campaigns(store: Store, tenant: str) -> list[CampaignView]:
    async with store.tenant(await tenant_id_of(store, tenant)) as session:
        rows = (await session.execute(select(m.Campaign).order_by(m.Campaign.name))).scalars().all()
        return [await _view(session, row) for row in rows]


async def set_status(store: Store, tenant: str, name: str, status: CampaignStatus, *, actor: str) -> CampaignView:
    async with store.tenant(await tenant_id_of(store, tenant)) as session:
        row = await _campaign(session, name)
        assert row is not None
        if CampaignStatus(row.status) not in STATUS_FROM[status]:
            raise AdminError(f"campaign {name!r} is {row.status}: it cannot be made {status}")
        view = await _view(session, row)
        if status is CampaignStatus.RUNNING:
            if not view.draft.queues and not view.draft.groups:
                raise AdminError(f"campaign {name!r} has no queue or group to work it: `campaign set --queue Q`")
            if not await working_queues(session, row.id):
                raise AdminError(
                    f"campaign {name!r}: its groups work no queue (`group set --queue Q`), and it has none of its own"
                )
            if not view.records.get(RecordState.PENDING, 0):
                raise AdminError(f"campaign {name!r} has no record to dial: `campaign import-list` first")
        before, row.status = row.status, status.value
        await audit.record(
            session,
            actor=actor,
            action=STATUS_ACTIONS[status],
            tenant=tenant,
            subject=f"campaign {name}",
            detail={"from": before, "to": status.value},
        )
        await session.commit()
        return replace(view, status=status.value)


async def import_records(store: Store, tenant: str, name: str, records: list[ListedRecord], now: datetime) -> int:
    """Add a validated list's records to the campaign, all in one transaction."""
    async with store.tenant(await tenant_id_of(store, tenant)) as session:
        row = await _campaign(session, name)
        assert row is not None
        if row.status == CampaignStatus.STOPPED:
            raise AdminError(f"campaign {name!r} is stopped: it takes no more records")
        session.add_all(
            m.CampaignRecord(campaign_id=row.id, number=r.number, fields=r.fields, source=r.source, next_at=now)
            for r in records
        )
        await session.commit()
        return len(records)


async def campaign_stats(store: Store, tenant: str, name: str, now: datetime) -> dict[str, Any]:
    """Records by state, lines by outcome, and the abandon ledger over the campaign rule's window."""
    async with store.tenant(await tenant_id_of(store, tenant)) as session:
        row = await _campaign(session, name)
        assert row is not None
        view = await _view(session, row)
        outcomes = await session.execute(
            select(m.CampaignAttempt.outcome, func.count())
            .where(m.CampaignAttempt.campaign_id == row.id)
            .group_by(m.CampaignAttempt.outcome)
        )
        rule = AbandonRule(row.rule)
        since = now - timedelta(seconds=RULE_WINDOW_S[rule])
        entries = await session.execute(
            select(m.AbandonLedgerRow.at, m.AbandonLedgerRow.entry)
            .where(m.AbandonLedgerRow.campaign_id == row.id, m.AbandonLedgerRow.at > since)
            .order_by(m.AbandonLedgerRow.at, m.AbandonLedgerRow.id)
        )
        ledger = AbandonLedger(rule, view.draft.settings.amd_false_positive_rate)
        for at, entry in entries.all():
            ledger.record(at.timestamp(), LedgerEntry(entry))
        counts = ledger.counts(now.timestamp())
        return {
            "campaign": name,
            "status": row.status,
            "mode": row.mode,
            "records": view.records,
            "lines": {outcome or "ringing": n for outcome, n in outcomes.all()},
            "ledger": {
                "rule": rule.value,
                "window_hours": RULE_WINDOW_S[rule] / 3600,
                "live_answered": round(counts.live, 2),
                "abandoned": round(counts.abandoned, 2),
                "abandon_rate": round(counts.rate, 4),
            },
        }


async def add_do_not_call(store: Store, tenant: str, numbers: Iterable[str], reason: str) -> int:
    async with store.tenant(await tenant_id_of(store, tenant)) as session:
        known = set((await session.execute(select(m.DncNumber.number))).scalars())
        fresh = sorted(set(numbers) - known)
        session.add_all(m.DncNumber(number=n, reason=reason) for n in fresh)
        await session.commit()
        return len(fresh)


async def remove_do_not_call(store: Store, tenant: str, number: str) -> None:
    async with store.tenant(await tenant_id_of(store, tenant)) as session:
        gone = await session.execute(delete(m.DncNumber).where(m.DncNumber.number == number))
        if gone.rowcount != 1:  # type: ignore[attr-defined]
            raise AdminError(f"{number} is not on tenant {tenant!r}'s do-not-call list")
        await session.commit()


async def list_do_not_call(store: Store, tenant: str) -> list[dict[str, str]]:
    async with store.tenant(await tenant_id_of(store, tenant)) as session:
        rows = (await session.execute(select(m.DncNumber).order_by(m.DncNumber.number))).scalars().all()
        return [{"number": r.number, "reason": r.reason, "added_at": r.added_at.isoformat()} for r in rows]


async def _campaign(session: AsyncSession, name: str, *, missing_ok: bool = False) -> m.Campaign | None:
    row = (await session.execute(select(m.Campaign).where(m.Campaign.name == name))).scalar_one_or_none()
    if row is None and not missing_ok:
        raise AdminError(f"no campaign {name!r}: `tvoxcc campaign list` shows them")
    return row


async def _ids(
    session: AsyncSession, model: type[m.Queue] | type[m.AgentGroup], names: Iterable[str], what: str
) -> list[int]:
    wanted = sorted(set(names))
    if not wanted:
        return []
    found = dict((await session.execute(select(model.name, model.id).where(model.name.in_(wanted)))).all())
    missing = [n for n in wanted if n not in found]
    if missing:
        raise AdminError(f"no {what} {missing[0]!r}: add it first (`tvoxcc {what} add`)")
    return [found[n] for n in wanted]


async def _view(session: AsyncSession, row: m.Campaign) -> CampaignView:
    queues = await session.execute(
        select(m.Queue.name)
        .join(m.CampaignQueue, m.CampaignQueue.queue_id == m.Queue.id)
        .where(m.CampaignQueue.campaign_id == row.id)
        .order_by(m.Queue.name)
    )
    groups = await session.execute(
        select(m.AgentGroup.name)
        .join(m.CampaignGroup, m.CampaignGroup.group_id == m.AgentGroup.id)
        .where(m.CampaignGroup.campaign_id == row.id)
        .order_by(m.AgentGroup.name)
    )
    states = await session.execute(
        select(m.CampaignRecord.state, func.count())
        .where(m.CampaignRecord.campaign_id == row.id)
        .group_by(m.CampaignRecord.state)
    )
    counts = Counter({state: n for state, n in states.all()})
    draft = CampaignDraft(
        mode=DialMode(row.mode),
        rule=AbandonRule(row.rule),
        caller_id=row.caller_id,
        settings=CampaignSettings.from_json(row.settings),
        queues=tuple(queues.scalars()),
        groups=tuple(groups.scalars()),
    )
    return CampaignView(row.name, row.status, draft, {s.value: counts.get(s.value, 0) for s in RecordState})


async def tenant_region(store: Store, tenant: str) -> str:
    """The country a number written without its international prefix is read in (the tenant's)."""
    async with store.session() as session:
        return str((await find_tenant(session, tenant)).country)
