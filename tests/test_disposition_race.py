"""A campaign call's disposition against the runner's end of its talk, on SQLite and PostgreSQL: whichever is
written first, the record goes through the disposition's retry rule and the attempt keeps the disposition —
one after the other in both orders, and with each side's transaction held open while the other starts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select, update

from tests.test_dispositions import NOW, _acme
from tvoxcc.campaigns import store as cs
from tvoxcc.campaigns import talks
from tvoxcc.campaigns.contact_list import ListedRecord
from tvoxcc.campaigns.events import AgentReady, CallEnded, Connect, Dial, LineResult
from tvoxcc.campaigns.model import CampaignStatus, LineOutcome, RecordState
from tvoxcc.campaigns.runner import CampaignRunner
from tvoxcc.campaigns.spec import CampaignSettings, parse_window
from tvoxcc.dispositions.core import Target
from tvoxcc.dispositions.store import set_disposition
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

T = NOW.timestamp()
T_ = TypeVar("T_")


async def _talking(store: Store) -> tuple[CampaignRunner, int]:
    """mario talks to the campaign's one record (a line the runner dialled, answered, connected): its line."""
    await _acme(store)
    settings = CampaignSettings(window=parse_window("mon-sun 08:00-22:00")).with_retries([("call-later", 3600.0)], 3)
    await cs.save_campaign(store, "acme", "spring", cs.CampaignDraft(settings=settings), new=True)
    await cs.import_records(store, "acme", "spring", [ListedRecord("+12125550100", {}, "l.csv:2")], NOW)
    async with store.session() as s:
        await s.execute(update(m.Campaign).values(status=CampaignStatus.RUNNING.value))
        await s.commit()
    runner = await CampaignRunner.load(store, "acme", "spring", T)
    (dial,) = await runner.handle(AgentReady("acme-mario"), T)
    assert isinstance(dial, Dial)
    (connect,) = await runner.handle(LineResult(dial.line, LineOutcome.HUMAN), T + 5)
    assert isinstance(connect, Connect)
    assert await _record(store) == ("connected", "human", NOW)
    return runner, dial.line


async def _record(store: Store) -> tuple[str, str | None, datetime | None]:
    async with store.session() as s:
        row = (await s.execute(select(m.CampaignRecord))).scalar_one()
        return row.state, row.last_outcome, row.next_at


async def _attempt_disposition(store: Store) -> str | None:
    async with store.session() as s:
        return (await s.execute(select(m.CampaignAttempt.disposition))).scalar_one()


async def _disposed_as_the_rule_says(store: Store, runner: CampaignRunner, at: datetime) -> None:
    assert await _record(store) == ("pending", "call-later", at + timedelta(hours=1))
    assert await _attempt_disposition(store) == "call-later"
    await runner.refresh()  # the running campaign holds it due when the rule says, whichever side moved it
    (record,) = runner.dialer.book.records.values()
    assert record.state is RecordState.PENDING and record.next_at == (at + timedelta(hours=1)).timestamp()


async def test_a_disposition_given_before_the_talks_end_is_written_applies_at_its_end(store: Store) -> None:
    runner, line = await _talking(store)
    given = await set_disposition(store, "acme", "mario", "91", NOW)
    assert (given.target, given.record_state) == (Target.CAMPAIGN, "connected")  # the talk is not over yet
    assert await _attempt_disposition(store) == "call-later"
    await runner.handle(CallEnded(line), T + 60)  # the runner's end of the talk must not overwrite it
    await _disposed_as_the_rule_says(store, runner, NOW + timedelta(seconds=60))


async def test_a_disposition_given_after_the_talks_end_applies_at_once(store: Store) -> None:
    runner, line = await _talking(store)
    await runner.handle(CallEnded(line), T + 60)
    assert await _record(store) == ("done", "talked", datetime.fromtimestamp(T, UTC))
    given = await set_disposition(store, "acme", "mario", "91", NOW + timedelta(seconds=90))
    assert given.record_state == "pending"
    await _disposed_as_the_rule_says(store, runner, NOW + timedelta(seconds=90))


async def _while_held(store: Store, first: Callable[[Any], Awaitable[object]], second: Awaitable[T_]) -> T_:
    """``first`` written in a transaction held open while ``second`` starts (it waits for the attempt row)."""
    async with store.session() as held:
        await first(held)
        other = asyncio.ensure_future(second)
        await asyncio.sleep(0.3)  # ``second`` is under way, waiting on the row ``first`` wrote
        assert not other.done()
        await held.commit()
    return await other


async def test_the_talks_end_waits_for_a_disposition_being_written_and_applies_it(store: Store) -> None:
    runner, line = await _talking(store)
    attempt = runner.attempts[line]
    await _while_held(
        store,
        lambda held: talks.give_disposition(held, attempt, "call-later", NOW),
        runner.handle(CallEnded(line), T + 60),
    )
    await _disposed_as_the_rule_says(store, runner, NOW + timedelta(seconds=60))


async def test_a_disposition_waits_for_the_talks_end_being_written_and_applies_the_rule(store: Store) -> None:
    runner, line = await _talking(store)
    attempt = runner.attempts[line]

    async def talk_ends(held: Any) -> None:  # the runner's transaction, in its order: the attempt, then the record
        over = await talks.talk_over(held, attempt, NOW + timedelta(seconds=60))
        assert over.disposition is None
        await held.execute(
            update(m.CampaignRecord)
            .where(m.CampaignRecord.id == over.record_id)
            .values(state=RecordState.DONE.value, last_outcome="talked")
        )

    # set_disposition reads the record talking (the runner's transaction is not committed), then waits.
    given = await _while_held(
        store, talk_ends, set_disposition(store, "acme", "mario", "91", NOW + timedelta(seconds=61))
    )
    assert given.record_state == "pending"
    assert await _record(store) == ("pending", "call-later", NOW + timedelta(seconds=61) + timedelta(hours=1))
    assert await _attempt_disposition(store) == "call-later"


async def test_a_campaign_call_found_as_the_agents_last_interaction_is_disposed_as_the_campaigns(store: Store) -> None:
    runner, line = await _talking(store)
    async with store.session() as s:  # predictive: the ACD routed the answer to mario 3 s after the person spoke
        attempt = await s.get(m.CampaignAttempt, runner.attempts[line])
        assert attempt is not None and attempt.interaction_id is not None and attempt.answered_at is not None
        await s.execute(
            update(m.Interaction)
            .where(m.Interaction.id == attempt.interaction_id)
            .values(answered_at=attempt.answered_at + timedelta(seconds=3))
        )
        interaction_id = attempt.interaction_id
        await s.commit()
    await runner.handle(CallEnded(line), T + 60)
    given = await set_disposition(store, "acme", "mario", "91", NOW + timedelta(seconds=90))
    assert (given.target, given.record_state) == (Target.CAMPAIGN, "pending")
    async with store.session() as s:
        code = await s.scalar(
            select(m.ActivityCode.name)
            .join(m.Interaction, m.Interaction.activity_code_id == m.ActivityCode.id)
            .where(m.Interaction.id == interaction_id)
        )
    assert code == "call-later"  # the call's interaction has it too


async def test_a_disposition_given_during_a_talk_the_runner_never_saw_end_applies_at_its_restart(store: Store) -> None:
    runner, _line = await _talking(store)
    given = await set_disposition(store, "acme", "mario", "91", NOW)
    assert given.record_state == "connected"
    del runner  # the process stops before the talk's end reaches it
    restarted = await CampaignRunner.load(store, "acme", "spring", T + 120)
    async with store.session() as s:  # the load's own transaction committed what it decided
        row = (await s.execute(select(m.CampaignRecord))).scalar_one()
    assert (row.state, row.last_outcome, row.next_at) == ("pending", "call-later", NOW + timedelta(seconds=3720))
    (record,) = restarted.dialer.book.records.values()
    assert record.state is RecordState.PENDING and record.next_at == T + 3720
