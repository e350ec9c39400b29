"""Outbound dialer benchmark: progressive against predictive pacing, on the real dialer core, same seeded world.

20 agents work an 8-hour shift (09:00-17:00 in the called parties' zone, New York numbers) with time compressed
(an event-driven simulation, no sleeping). Each dialled line is answered by a person 30% of the time (after
2-20 s, then 1.5 s of AMD listening to "hello"), by an answering machine 15% (AMD says so after 2-10 s and
3.5 s), is busy 10% (after 3 s) and rings unanswered 45% (the campaign's 25 s). A talk lasts 170 s on average
(gamma, shape 2) and its wrap-up 10 s: an AHT of 180 s. A person who answers and has no agent within 2 s is
an abandon (the ledger's rule, 3% of live-answered calls). Printed per mode: talk minutes per agent hour,
the ledger's abandon rate, dials, live answers, abandons, records final. `--quick` runs the same shift.

Aim: predictive >= 45 talk minutes per agent hour with abandons <= 3% of live-answered calls; exit 1 when
missed. Progressive (one line per free agent, the agent reserved first) is the baseline.
"""

from __future__ import annotations

import heapq
import random
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _contract import Aim, arguments

from tvoxcc.campaigns.dialer import Dialer
from tvoxcc.campaigns.events import Abandon, AgentReady, CallEnded, Command, Connect, Dial, Event, LineResult
from tvoxcc.campaigns.ledger import AbandonLedger
from tvoxcc.campaigns.model import (
    ABANDON_LIMIT,
    AbandonRule,
    CallWindow,
    DialMode,
    LineOutcome,
    PacingConfig,
    RetryRules,
)
from tvoxcc.campaigns.records import Record, RecordBook
from tvoxcc.campaigns.windows import zones_of

AGENTS, SHIFT_S, RECORDS = 20, 8 * 3600.0, 12_000
START = datetime(2026, 12, 7, 14, 0, tzinfo=UTC).timestamp()  # Monday 09:00 in New York
HUMAN, MACHINE, BUSY = 0.30, 0.15, 0.10
TALK_MEAN_S, WRAPUP_S, AIM_TALK_MIN = 170.0, 10.0, 45.0


@dataclass
class Result:
    talk_s: float = 0.0
    dials: int = 0
    abandons: int = 0
    live: int = 0
    final: int = 0
    rate: float = 0.0
    peak_rate: float = 0.0  # the ledger's highest rate once 100 people had answered

    def talk_min_per_agent_hour(self) -> float:
        return self.talk_s / 60.0 / (AGENTS * SHIFT_S / 3600.0)


def simulate(mode: DialMode, seed: int, rule: AbandonRule) -> Result:
    world = random.Random(seed)
    numbers = [f"+1212{world.randrange(2_000_000, 9_999_999)}" for _ in range(RECORDS)]
    zones = zones_of(numbers[0], "America/New_York")
    book = RecordBook(Record(i, n, zones, next_at=START) for i, n in enumerate(numbers, 1))
    pacing = PacingConfig(mode=mode, rule=rule, ring_s=25.0, wrapup_s=WRAPUP_S)
    ledger = AbandonLedger(rule, pacing.amd_false_positive_rate)
    dialer = Dialer(pacing, RetryRules(), CallWindow(), book, ledger)
    result = Result()
    queue: list[tuple[float, int, Event | None]] = []
    seq = 0

    def at(when: float, event: Event | None) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(queue, (when, seq, event))

    def apply(commands: list[Command], now: float) -> None:
        for command in commands:
            if isinstance(command, Dial):
                result.dials += 1
                at(now + 0.5, None)  # the next pacing look
                draw = world.random()
                if draw < HUMAN:
                    at(now + world.uniform(2, 20) + 1.5, LineResult(command.line, LineOutcome.HUMAN))
                elif draw < HUMAN + MACHINE:
                    at(now + world.uniform(2, 10) + 3.5, LineResult(command.line, LineOutcome.MACHINE))
                elif draw < HUMAN + MACHINE + BUSY:
                    at(now + 3.0, LineResult(command.line, LineOutcome.BUSY))
                else:
                    at(now + command.ring_s, LineResult(command.line, LineOutcome.NO_ANSWER))
            elif isinstance(command, Connect):
                result.live += 1
                talk = world.gammavariate(2.0, TALK_MEAN_S / 2.0)
                end = min(now + talk, START + SHIFT_S)
                result.talk_s += end - now
                at(now + talk, CallEnded(command.line))
                at(now + talk + WRAPUP_S, AgentReady(command.agent))
            elif isinstance(command, Abandon):
                result.abandons += 1
                result.live += 1
            counts = ledger.counts(now)
            if counts.live >= 100:
                result.peak_rate = max(result.peak_rate, counts.rate)
        deadline = dialer.next_deadline()
        if deadline is not None:
            at(deadline, None)

    for n in range(AGENTS):
        apply(dialer.handle(AgentReady(f"agent{n:02d}"), START), START)
    tick = START
    while tick < START + SHIFT_S:
        tick += 1.0
        at(tick, None)
    while queue:
        now, _, event = heapq.heappop(queue)
        if now >= START + SHIFT_S:
            dialer.running = False
            if event is None:
                continue
        apply(dialer.tick(now) if event is None else dialer.handle(event, now), now)
    result.rate = ledger.counts(START + SHIFT_S).rate
    result.final = sum(1 for r in book.records.values() if r.final)
    return result


def report(mode: DialMode, result: Result) -> None:
    print(
        f"{mode:<11}  talk-min/agent-hour {result.talk_min_per_agent_hour():5.1f}  "
        f"abandons {result.rate * 100:4.2f}% ({result.abandons} of {result.live} live, "
        f"peak {result.peak_rate * 100:4.2f}%)  dials {result.dials}  "
        f"records final {result.final}"
    )


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rule", choices=[r.value for r in AbandonRule], default=AbandonRule.US_30_DAYS.value)
    args = parser.parse_args()
    aim = Aim(__doc__, quick=args.quick)
    rule = AbandonRule(args.rule)
    base = simulate(DialMode.PROGRESSIVE, args.seed, rule)
    report(DialMode.PROGRESSIVE, base)
    ours = simulate(DialMode.PREDICTIVE, args.seed, rule)
    report(DialMode.PREDICTIVE, ours)
    talk = ours.talk_min_per_agent_hour()
    aim.check(f"predictive {talk:.1f} talk-min per agent hour >= {AIM_TALK_MIN:.0f}", talk >= AIM_TALK_MIN)
    aim.check(f"predictive abandons {ours.rate * 100:.2f}% <= {ABANDON_LIMIT * 100:.0f}%", ours.rate <= ABANDON_LIMIT)
    aim.finish("predictive/progressive talk-min per agent hour", talk / base.talk_min_per_agent_hour())


if __name__ == "__main__":
    main()
