"""The dialer core against a random world, many seeds: what must hold whatever happens.

Never a dial outside the called party's window, on the do-not-call list (which grows during the run) or within
72 h of an abandon of that number; never a call offered to an agent who has one; every answered person gets an
agent within 2 s or is abandoned at 2 s, never both; with agents who stay, the ledger never goes over 3%; and
every record ends in a final state.
"""

from __future__ import annotations

import heapq
import random
from datetime import UTC, datetime, time

import pytest

from tvoxcc.campaigns import records as rec
from tvoxcc.campaigns.dialer import Dialer
from tvoxcc.campaigns.events import (
    Abandon,
    AgentAway,
    AgentReady,
    CallEnded,
    Command,
    Connect,
    ConnectFailed,
    Dial,
    DoNotCall,
    Event,
    LineResult,
)
from tvoxcc.campaigns.ledger import AbandonLedger
from tvoxcc.campaigns.model import (
    ABANDON_HOLD_S,
    ABANDON_LIMIT,
    CONNECT_WITHIN_S,
    AbandonRule,
    CallWindow,
    DialMode,
    LineOutcome,
    PacingConfig,
    RetryRules,
)
from tvoxcc.campaigns.windows import in_window, zones_of

START = datetime(2026, 12, 7, 4, 0, tzinfo=UTC).timestamp()  # closed in Europe and the US, open in Sydney
PREFIXES = ("+1212", "+1310", "+3902", "+4420", "+6129")
WINDOW = CallWindow(days=frozenset(range(6)), start=time(9), end=time(20))
OUTCOMES = (LineOutcome.HUMAN, LineOutcome.MACHINE, LineOutcome.BUSY, LineOutcome.NO_ANSWER, LineOutcome.FAILED)


def run_world(seed: int, mode: DialMode, agents_leave: bool) -> None:
    rng = random.Random(seed)
    numbers = [f"{rng.choice(PREFIXES)}{rng.randrange(10_000_000, 99_999_999)}" for _ in range(60)]
    numbers += numbers[:5]  # the same number on two records
    book = rec.RecordBook(rec.Record(i, n, zones_of(n, "Europe/Rome"), next_at=START) for i, n in enumerate(numbers, 1))
    dnc = {numbers[7]}
    pacing = PacingConfig(mode=mode, rule=AbandonRule.US_30_DAYS)
    retry = RetryRules(
        max_attempts=3,
        busy_s=300.0,
        no_answer_s=1800.0,
        machine_s=3600.0,
        failed_s=600.0,
        dispositions={"later": 3600.0},
    )
    ledger = AbandonLedger(pacing.rule)
    dialer = Dialer(pacing, retry, WINDOW, book, ledger, do_not_call=dnc)
    agents = [f"a{n}" for n in range(rng.randint(1, 6))]
    talking: dict[str, int] = {}  # agent -> line, as this test sees it
    answered: dict[int, float] = {}  # line -> when the person answered
    settled: set[int] = set()
    failed: set[int] = set()  # connected lines whose agent never came on
    line_number: dict[int, str] = {}
    abandoned_at: dict[str, float] = {}
    queue: list[tuple[float, int, Event | None]] = []
    seq = 0

    def at(when: float, event: Event | None) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(queue, (when, seq, event))

    def apply(commands: list[Command], now: float) -> None:
        for command in commands:
            if isinstance(command, Dial):
                record = book.records[command.record_id]
                assert command.number not in dnc
                assert in_window(WINDOW, record.zones, now)
                assert now >= abandoned_at.get(command.number, -ABANDON_HOLD_S) + ABANDON_HOLD_S
                assert command.ring_s >= 15
                assert command.agent is None or command.agent not in talking
                line_number[command.line] = command.number
                outcome = rng.choice(OUTCOMES)
                delay = command.ring_s if outcome is LineOutcome.NO_ANSWER else rng.uniform(1, 20)
                at(now + delay, LineResult(command.line, outcome))
            elif isinstance(command, Connect):
                assert command.agent not in talking, "an agent was offered a second call"
                assert command.line not in settled
                assert now - answered[command.line] <= CONNECT_WITHIN_S
                settled.add(command.line)
                talking[command.agent] = command.line
                if agents_leave and rng.random() < 0.1:  # the agent's phone never answers
                    failed.add(command.line)
                    at(now + rng.uniform(2.5, 20), ConnectFailed(command.line))
                    at(now + rng.uniform(30, 300), AgentReady(command.agent))
                    continue
                talk = rng.uniform(5, 400)
                disposition = rng.choice([None, "sale", "later"])
                at(now + talk, CallEnded(command.line, disposition))
                at(now + talk + rng.uniform(0, 30), AgentReady(command.agent))
            elif isinstance(command, Abandon):
                assert command.line not in settled or command.line in failed
                assert now - answered[command.line] >= CONNECT_WITHIN_S
                settled.add(command.line)
                abandoned_at[line_number[command.line]] = now
        deadline = dialer.next_deadline()
        if deadline is not None:
            at(deadline, None)

    for agent in agents:
        apply(dialer.handle(AgentReady(agent), START), START)
    for minute in range(0, 8 * 86_400, 60):
        at(START + minute, None)
    for _ in range(40):
        when = START + rng.uniform(0, 86_400)
        at(when, DoNotCall(rng.choice(numbers)) if rng.random() < 0.3 else None)
        if agents_leave:
            agent = rng.choice(agents)
            at(when, AgentAway(agent))
            at(when + rng.uniform(10, 3000), AgentReady(agent))
    while queue and not all(r.final for r in book.records.values()):
        now, _, event = heapq.heappop(queue)
        if isinstance(event, DoNotCall):
            dnc.add(event.number)
        if isinstance(event, LineResult) and event.outcome is LineOutcome.HUMAN:
            answered[event.line] = now
        if isinstance(event, CallEnded | ConnectFailed):
            talking.pop(next(a for a, line in talking.items() if line == event.line))
        apply(dialer.tick(now) if event is None else dialer.handle(event, now), now)
        counts = ledger.counts(now)
        if not agents_leave:
            assert counts.abandoned <= ABANDON_LIMIT * counts.live + 1e-9
    assert all(r.final for r in book.records.values()), [r for r in book.records.values() if not r.final]
    assert set(answered) == settled  # every person who answered got an agent or the abandon message


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("mode", [DialMode.PROGRESSIVE, DialMode.PREDICTIVE])
def test_the_dialer_keeps_the_rules_in_a_random_world(seed: int, mode: DialMode) -> None:
    run_world(seed, mode, agents_leave=False)


@pytest.mark.parametrize("seed", range(8))
def test_agents_leaving_mid_ring_break_no_rule_but_the_rate(seed: int) -> None:
    run_world(seed, DialMode.PREDICTIVE, agents_leave=True)
