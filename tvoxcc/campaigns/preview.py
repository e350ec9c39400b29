"""Preview campaigns on the store: a record shown to an agent, then dialled by them or skipped with a reason.

No dialer runs a preview campaign (the voice service works progressive and predictive ones): the agent desktop
asks for the next record (``offer``), which is claimed for that agent alone (``previewing``, a conditional
update: two agents never see the same record) for PREVIEW_HOLD_S — a record whose agent never came back is
anyone's after that. Only records due, inside their window in the called party's local time and not on the
do-not-call list (one on it becomes ``do-not-call``) are shown. ``dial`` stores a click-to-call request (the
same path and checks as the desktop's click-to-call: tvoxcc.agentcalls.store.request) and the attempt, and the
record is ``dialing`` until the call's outcome comes back to it as a dialer's line's does (busy, no answer:
the retry rules; tvoxcc.campaigns.preview_calls); ``skip``
stores the reason on the record and applies the reason's retry rule (as a disposition's: listed, the record is
due again that much later; not listed, it is final). The transitions are tvoxcc.campaigns.records'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.agentcalls import store as calls
from tvoxcc.agentcalls.model import Refusal
from tvoxcc.campaigns import records as rec
from tvoxcc.campaigns.model import CampaignStatus, DialMode, RecordState
from tvoxcc.campaigns.spec import CampaignSettings
from tvoxcc.campaigns.windows import in_window, zones_of
from tvoxcc.journey.identify import contact_by_phone
from tvoxcc.scripts.store import script_for
from tvoxcc.store import models as m

PREVIEW_HOLD_S = 600.0
CANDIDATES = 50  # records looked at per campaign and request (those outside their window are passed over)
REASON_MAX = 200


class PreviewRefused(ValueError):
    """The request cannot be carried out (the message says why); ``status`` is the HTTP answer's."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class PreviewOffer:
    campaign: str
    record: int
    number: str
    fields: dict[str, str]  # the list's custom columns
    attempts: int
    script: str | None
    spec: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "record": self.record,
            "number": self.number,
            "fields": self.fields,
            "attempts": self.attempts,
            "script": self.script,
            "spec": self.spec,
        }


def _record(row: m.CampaignRecord, zone: str) -> rec.Record:
    next_at = row.next_at.timestamp() if row.next_at else 0.0
    state = RecordState(row.state)
    return rec.Record(row.id, row.number, zones_of(row.number, zone), state, row.attempts, next_at, row.last_outcome)


def _write(row: m.CampaignRecord, record: rec.Record) -> None:
    row.state, row.attempts, row.last_outcome = record.state.value, record.attempts, record.last_outcome
    row.next_at = datetime.fromtimestamp(record.next_at, UTC)


async def offer(session: AsyncSession, tenant: m.Tenant, agent: m.Agent, now: datetime) -> PreviewOffer | None:
    """The record shown to ``agent`` now (the one they have, else the next one claimed for them), or None."""
    mine = await session.scalar(
        select(m.CampaignRecord).where(
            m.CampaignRecord.state == RecordState.PREVIEWING, m.CampaignRecord.preview_agent_id == agent.id
        )
    )
    if mine is not None:
        return await _offer_of(session, mine)
    dnc = set((await session.execute(select(m.DncNumber.number))).scalars())
    for campaign in await _campaigns_of(session, agent.id):
        window = CampaignSettings.from_json(campaign.settings).window
        rows = await session.execute(
            select(m.CampaignRecord)
            .where(
                m.CampaignRecord.campaign_id == campaign.id,
                m.CampaignRecord.state.in_([RecordState.PENDING, RecordState.PREVIEWING]),
                or_(m.CampaignRecord.next_at.is_(None), m.CampaignRecord.next_at <= now),
            )
            .order_by(m.CampaignRecord.next_at, m.CampaignRecord.id)
            .limit(CANDIDATES)
        )
        for row in rows.scalars().all():
            record = _record(row, tenant.timezone)
            rec.back_to_pending(record)  # an offer its agent never came back to
            if row.number in dnc:
                rec.block_do_not_call(record)
                _write(row, record)
                continue
            if not in_window(window, record.zones, now.timestamp()):
                continue
            rec.start_preview(record, now.timestamp() + PREVIEW_HOLD_S)
            claimed = await session.execute(
                update(m.CampaignRecord)
                .where(m.CampaignRecord.id == row.id, m.CampaignRecord.state == row.state)
                .where(m.CampaignRecord.next_at == row.next_at if row.next_at else m.CampaignRecord.next_at.is_(None))
                .values(
                    state=record.state.value,
                    next_at=datetime.fromtimestamp(record.next_at, UTC),
                    preview_agent_id=agent.id,
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(claimed, "rowcount", 0) == 1:  # else another agent's request took it first
                await session.refresh(row)
                return await _offer_of(session, row)
    return None


async def dial(
    session: AsyncSession, tenant: m.Tenant, agent: m.Agent, record_id: int, now: datetime
) -> tuple[int, Refusal | None]:
    """The agent dials the record shown to them: a click-to-call request and the attempt (or the refusal)."""
    row = await _mine(session, agent, record_id)
    e164 = row.number
    match = await contact_by_phone(session, e164)
    call_id, reason = await calls.request(
        session, tenant, agent, e164, now, contact_id=match.contact_id if match else None
    )
    record = _record(row, tenant.timezone)
    if reason is Refusal.DO_NOT_CALL:  # listed since it was shown: final, as the dialer makes it
        rec.back_to_pending(record)
        rec.block_do_not_call(record)
    elif reason is not None:
        return call_id, reason  # still theirs: they may skip it
    else:
        rec.preview_dialled(record)
        session.add(
            m.CampaignAttempt(
                campaign_id=row.campaign_id,
                record_id=row.id,
                number=row.number,
                agent=f"{tenant.name}-{agent.name}",
                started_at=now,
                agent_call_id=call_id,  # its outcome comes back to the record (tvoxcc.campaigns.preview_calls)
            )
        )
    _write(row, record)
    row.preview_agent_id = None
    return call_id, reason


async def skip(
    session: AsyncSession, tenant: m.Tenant, agent: m.Agent, record_id: int, reason: str, now: datetime
) -> str:
    """The agent skips the record shown to them with ``reason``; returns the record's state after it."""
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX:
        raise PreviewRefused(f"reason: between 1 and {REASON_MAX} characters", 400)
    row = await _mine(session, agent, record_id)
    campaign = await session.get(m.Campaign, row.campaign_id)
    assert campaign is not None  # a foreign key
    record = _record(row, tenant.timezone)
    rec.preview_skipped(record, reason, now.timestamp(), CampaignSettings.from_json(campaign.settings).retry)
    _write(row, record)
    row.skip_reason, row.preview_agent_id = reason, None
    return record.state.value


async def _mine(session: AsyncSession, agent: m.Agent, record_id: int) -> m.CampaignRecord:
    row = await session.get(m.CampaignRecord, record_id)
    if row is None:
        raise PreviewRefused("no such record", 404)
    if row.state != RecordState.PREVIEWING or row.preview_agent_id != agent.id:
        raise PreviewRefused("this record is not the one shown to you (dialled, skipped or taken back)")
    return row


async def _campaigns_of(session: AsyncSession, agent_id: int) -> list[m.Campaign]:
    """The running preview campaigns worked by one of the agent's queues."""
    queues = select(m.QueueMember.queue_id).where(m.QueueMember.agent_id == agent_id)
    worked = select(m.CampaignQueue.campaign_id).where(m.CampaignQueue.queue_id.in_(queues))
    rows = await session.execute(
        select(m.Campaign)
        .where(
            m.Campaign.mode == DialMode.PREVIEW,
            m.Campaign.status == CampaignStatus.RUNNING,
            m.Campaign.id.in_(worked),
        )
        .order_by(m.Campaign.id)
    )
    return list(rows.scalars().all())


async def _offer_of(session: AsyncSession, row: m.CampaignRecord) -> PreviewOffer:
    campaign = await session.get(m.Campaign, row.campaign_id)
    assert campaign is not None  # a foreign key
    script = await script_for(session, campaign_id=campaign.id, queue_id=None)
    return PreviewOffer(
        campaign.name,
        row.id,
        row.number,
        dict(row.fields or {}),
        row.attempts,
        script.name if script else None,
        script.spec if script else None,
    )
