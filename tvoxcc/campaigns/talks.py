"""The two writes that end a campaign talk, whichever comes first: the talk's end (the campaign runner's, or the
preview click-to-call's) and the agent's disposition (tvoxcc.dispositions.store). Both meet on the attempt row.

The disposition's retry rule needs both facts: that the talk is over and which disposition was given. Each side
writes its own fact on the attempt row FIRST in its transaction (an UPDATE: PostgreSQL locks the row, SQLite
takes its write lock; a concurrent one waits), then reads the other's: the side that comes second sees the
first's fact committed and applies the rule, so neither order loses it.

- the talk ends (``talk_over``): the attempt's ``ended_at`` is written, the disposition given meanwhile (if
  any) read back; the caller moves the record (tvoxcc.campaigns.records.talk_ended, or disposed).
- a disposition (``give_disposition``): stored on the attempt; the record goes through the campaign's rule for
  it if its talk has ended (``done``, ``talked``), else it is left to the talk's end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.campaigns import records as rec
from tvoxcc.campaigns.model import RecordState
from tvoxcc.campaigns.spec import CampaignSettings
from tvoxcc.store import models as m


@dataclass(frozen=True, slots=True)
class TalkOver:
    record_id: int
    disposition: str | None  # given before the talk's end was written (None: not yet)


async def talk_over(session: AsyncSession, attempt_id: int, now: datetime, disposition: str | None = None) -> TalkOver:
    """The talk on the attempt's line ended (``disposition``: one the talk's own end carries): the first write of
    the caller's transaction (see above), then the disposition the attempt has."""
    values: dict[str, object] = {"ended_at": now}
    if disposition is not None:
        values["disposition"] = disposition
    written = await session.execute(
        update(m.CampaignAttempt)
        .where(m.CampaignAttempt.id == attempt_id)
        .values(**values)
        .returning(m.CampaignAttempt.record_id, m.CampaignAttempt.disposition)
        .execution_options(synchronize_session=False)
    )
    record_id, given = written.one()
    return TalkOver(record_id, given)


async def give_disposition(session: AsyncSession, attempt_id: int, name: str, now: datetime) -> str:
    """Store the disposition ``name`` on the attempt (the first write of the caller's transaction); the record
    goes through the campaign's rule for it when its talk has ended. Returns the record's state after it."""
    written = await session.execute(
        update(m.CampaignAttempt)
        .where(m.CampaignAttempt.id == attempt_id)
        .values(disposition=name)
        .returning(m.CampaignAttempt.record_id, m.CampaignAttempt.campaign_id)
        .execution_options(synchronize_session=False)
    )
    record_id, campaign_id = written.one()
    row = await session.get(m.CampaignRecord, record_id, with_for_update=True, populate_existing=True)
    campaign = await session.get(m.Campaign, campaign_id)
    assert row is not None and campaign is not None  # foreign keys
    record = rec.Record(row.id, row.number, (), RecordState(row.state), row.attempts, 0.0, row.last_outcome)
    try:
        rec.disposed(record, name, now.timestamp(), CampaignSettings.from_json(campaign.settings).retry)
    except rec.TransitionError:
        # Still talking: the talk's end applies it (talk_over reads it). Disposed already: it keeps its state.
        return row.state
    row.state, row.last_outcome = record.state.value, record.last_outcome
    if record.state is RecordState.PENDING:
        row.next_at = datetime.fromtimestamp(record.next_at, now.tzinfo)
    return row.state
