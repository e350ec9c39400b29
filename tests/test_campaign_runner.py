"""A campaign run on the store (SQLite and PostgreSQL): the rows follow the dialer, and a restart picks up.

The lines are a seeded random world (answer, machine, busy, no answer), as the telephony side would report
them; half-way the runner is dropped (its ringing lines with it) and a new one is loaded from the rows.
"""

from __future__ import annotations

import heapq
import random
from datetime import UTC, datetime

from sqlalchemy import func, select

from tvoxcc.campaigns import store as cs
from tvoxcc.campaigns.contact_list import ListedRecord
from tvoxcc.campaigns.events import (
    Abandon,
    AgentReady,
    CallEnded,
    Command,
    Connect,
    Dial,
    Event,
    LineResult,
)
from tvoxcc.campaigns.model import CampaignStatus, DialMode, LineOutcome, RecordState
from tvoxcc.campaigns.runner import CampaignRunner
from tvoxcc.campaigns.spec import CampaignSettings, parse_window
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

START = datetime(2026, 12, 7, 15, 0, tzinfo=UTC).timestamp()  # Monday 10:00 in New York
OUTCOMES = (LineOutcome.HUMAN, LineOutcome.HUMAN, LineOutcome.MACHINE, LineOutcome.BUSY, LineOutcome.NO_ANSWER)


async def test_the_rows_follow_the_dialer_across_a_restart(store: Store) -> None:
    async with store.session() as session:
        session.add(m.Tenant(name="acme", timezone="America/New_York", country="US"))
        await session.commit()
    settings = CampaignSettings(window=parse_window("mon-sun 08:00-22:00"))
    draft = cs.CampaignDraft(mode=DialMode.PREDICTIVE, settings=settings)
    await cs.save_campaign(store, "acme", "spring", draft, new=True)
    numbers = [f"+1212555{n:04d}" for n in range(40)]
    listed = [ListedRecord(n, {"name": f"c{i}"}, f"list.csv:{i + 2}") for i, n in enumerate(numbers)]
    await cs.import_records(store, "acme", "spring", listed, datetime.fromtimestamp(START, UTC))
    await cs.add_do_not_call(store, "acme", [numbers[3]], "asked")
    async with store.session() as session:
        campaign = (await session.execute(select(m.Campaign))).scalar_one()
        campaign.status = CampaignStatus.RUNNING.value
        await session.commit()

    rng = random.Random(5)
    runner = await CampaignRunner.load(store, "acme", "spring", START)
    generation = 0
    queue: list[tuple[float, int, int, Event | None]] = []
    seq = 0
    dials = connects = abandons = 0
    talking: set[str] = set()

    def at(when: float, event: Event | None) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(queue, (when, seq, generation, event))

    def apply(commands: list[Command], now: float) -> None:
        nonlocal dials, connects, abandons
        for command in commands:
            if isinstance(command, Dial):
                dials += 1
                assert command.number != numbers[3]
                outcome = rng.choice(OUTCOMES)
                at(
                    now + (command.ring_s if outcome is LineOutcome.NO_ANSWER else rng.uniform(2, 12)),
                    LineResult(command.line, outcome),
                )
            elif isinstance(command, Connect):
                assert command.agent not in talking
                talking.add(command.agent)
                connects += 1
                talk = rng.uniform(20, 200)
                at(now + talk, CallEnded(command.line, rng.choice([None, "later"])))
                at(now + talk + 5, AgentReady(command.agent))
            elif isinstance(command, Abandon):
                abandons += 1
        deadline = runner.dialer.next_deadline()
        if deadline is not None:
            at(deadline, None)

    for n in range(3):
        apply(await runner.handle(AgentReady(f"a{n}"), START), START)
    for minute in range(0, 3 * 86_400, 30):
        at(START + minute, None)
    restarted = False
    while queue:
        now, _, born, event = heapq.heappop(queue)
        if born != generation and event is not None:
            if isinstance(event, AgentReady):
                talking.discard(event.agent)
            continue  # a line of the process that went away
        if isinstance(event, AgentReady):
            talking.discard(event.agent)
        if not restarted and now > START + 1800:
            restarted = True
            generation += 1
            talking.clear()
            runner = await CampaignRunner.load(store, "acme", "spring", now)
            for n in range(3):
                apply(await runner.handle(AgentReady(f"a{n}"), now), now)
            continue
        apply(await (runner.tick(now) if event is None else runner.handle(event, now)), now)
        if all(r.final for r in runner.dialer.book.records.values()) and not runner.dialer.lines:
            break

    async with store.session() as session:
        states = dict(
            (await session.execute(select(m.CampaignRecord.state, func.count()).group_by(m.CampaignRecord.state))).all()
        )
        attempts = (await session.execute(select(m.CampaignAttempt))).scalars().all()
        ledger = (await session.execute(select(m.AbandonLedgerRow))).scalars().all()
        record_attempts = await session.scalar(select(func.sum(m.CampaignRecord.attempts)))
    assert set(states) <= {RecordState.DONE, RecordState.EXHAUSTED, RecordState.DO_NOT_CALL}, states
    assert states[RecordState.DO_NOT_CALL] == 1
    assert restarted and dials > len(numbers) and connects > 10
    assert len(attempts) == dials == record_attempts
    finished = [a for a in attempts if a.outcome is not None]
    assert len(attempts) - len(finished) <= 3  # lines ringing when the first runner went away
    assert sum(1 for e in ledger if e.entry == "live") == connects
    assert sum(1 for e in ledger if e.entry == "abandoned") == abandons
    assert all(e.number for e in ledger if e.entry == "abandoned")
    assert sum(1 for a in attempts if a.agent is not None and a.answered_at is not None) == connects
    stats = await cs.campaign_stats(store, "acme", "spring", datetime.fromtimestamp(now, UTC))
    assert stats["ledger"]["live_answered"] == connects + abandons
    assert stats["records"]["pending"] == 0
