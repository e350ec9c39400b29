"""A preview record's click-to-call as it goes: its outcome brought back to the record, as a dialer's line's is.

The agent dials a previewed record (tvoxcc.campaigns.preview.dial): the record is ``dialing`` and its attempt
points at the click-to-call's ``agent_calls`` row. The click-to-call's store (tvoxcc.agentcalls.store) calls
here, in its own transaction, at each step that matters to the record: the customer answered (``connected``),
the call ended (a talk, with the disposition given meanwhile; or the customer's line busy, unanswered or failed:
the campaign's retry rules, up to its maximum of attempts), or the customer was never dialled (the agent's
phone not answered, the agent busy, the request expired, a restart: the attempt is taken back, the record due
now). The transitions are tvoxcc.campaigns.records'; a call that is no preview record's changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.campaigns import records as rec
from tvoxcc.campaigns import talks
from tvoxcc.campaigns.model import LineOutcome, RecordState, RetryRules, unanswered_outcome
from tvoxcc.campaigns.spec import CampaignSettings
from tvoxcc.store import models as m

Transition = Callable[[rec.Record, RetryRules], None]  # one of tvoxcc.campaigns.records' (the campaign's rules)


async def answered(session: AsyncSession, agent_call_id: int, interaction_id: int | None, now: datetime) -> None:
    """The customer answered: the record is talked to, the attempt answered (the agent's last campaign call,
    for a disposition) and pointing at the call's interaction."""
    attempt = await _attempt_of(session, agent_call_id)
    if attempt is None:
        return
    attempt.answered_at, attempt.outcome, attempt.interaction_id = now, LineOutcome.HUMAN.value, interaction_id
    await _move(session, attempt, lambda record, rules: rec.preview_call_answered(record, now.timestamp(), rules))


async def ended(session: AsyncSession, agent_call_id: int, *, answered: bool, cause: int, now: datetime) -> None:
    """The call ended (``cause``: the customer leg's Q.850 cause when it was never answered)."""
    attempt = await _attempt_of(session, agent_call_id)
    if attempt is None:
        return
    if answered:  # the talk's end: written first, as the runner's (tvoxcc.campaigns.talks)
        over = await talks.talk_over(session, attempt.id, now)
        given, unanswered = over.disposition, None
    else:
        given, unanswered = None, unanswered_outcome(cause)
        attempt.ended_at, attempt.outcome = now, unanswered.value
    await _move(
        session, attempt, lambda record, rules: rec.preview_call_over(record, unanswered, given, now.timestamp(), rules)
    )


async def not_placed(session: AsyncSession, agent_call_id: int, now: datetime, *, do_not_call: bool = False) -> None:
    """The customer was never dialled: no attempt after all, the record due again now (``do_not_call``: the
    number was listed meanwhile, the record is final, as the dialer makes it)."""
    attempt = await _attempt_of(session, agent_call_id)
    if attempt is None:
        return

    def back(record: rec.Record, rules: RetryRules) -> None:
        rec.preview_call_over(record, None, None, now.timestamp(), rules)
        if do_not_call:
            rec.block_do_not_call(record)

    if await _move(session, attempt, back):
        await session.execute(delete(m.CampaignAttempt).where(m.CampaignAttempt.id == attempt.id))


async def _attempt_of(session: AsyncSession, agent_call_id: int) -> m.CampaignAttempt | None:
    found = await session.execute(select(m.CampaignAttempt).where(m.CampaignAttempt.agent_call_id == agent_call_id))
    return found.scalar_one_or_none()


async def _move(session: AsyncSession, attempt: m.CampaignAttempt, transition: Transition) -> bool:
    """The record through ``transition``; False when it had moved already (a restart, an operator): left as is."""
    row = await session.get(m.CampaignRecord, attempt.record_id, with_for_update=True)
    campaign = await session.get(m.Campaign, attempt.campaign_id)
    assert row is not None and campaign is not None  # foreign keys
    next_at = row.next_at.timestamp() if row.next_at else 0.0
    record = rec.Record(row.id, row.number, (), RecordState(row.state), row.attempts, next_at, row.last_outcome)
    try:
        transition(record, CampaignSettings.from_json(campaign.settings).retry)
    except rec.TransitionError:
        return False
    row.state, row.attempts, row.last_outcome = record.state.value, record.attempts, record.last_outcome
    row.next_at = datetime.fromtimestamp(record.next_at, UTC)
    return True
