"""ACD routing benchmark: the indexed Router against the linear-scan router, same seeded workload.

10,000 agents, 500 queues, 50 skills; calls, chats and mails arrive (Poisson, uneven queue popularity),
agents answer or ring out (RONA), talk, wrap up and pause; callers abandon. Prints, for each router,
routing decisions per second and p50/p99 decision latency (time.perf_counter_ns around each decision:
choosing agents for an item, choosing an item for a freed agent), end-to-end events per second and
tracemalloc peak of the state. Both routers get the same workload: the same seeded event stream, the same
number of events (250,000; `--quick`: 20,000). `--breakdown` adds the latency per router call and decision
kind, and which kinds make the slowest 1% (the p99). The last line is the ratio baseline p50 / router p50.
`--item-skills F`: a fraction F of arrivals asks one of its queue's skills 1-2 levels higher (as an IVR's
set node does), so those items take the router's narrowed path (filtered tiers, narrowed lines).

Aim: the indexed router decides in p99 <= 50 µs per decision at 10,000 agents and 500 queues (the same with
--quick, over fewer events); exit 1 when missed.
"""

from __future__ import annotations

import gc
import heapq
import math
import random
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _contract import Aim, arguments

from tvoxcc.queues.model import (
    AgentConfig,
    Channel,
    Offer,
    Outputs,
    OverflowAction,
    OverflowRule,
    OverflowWhen,
    PauseAgent,
    PlaceCallback,
    QueueConfig,
    RelaxRule,
    RouterError,
    Strategy,
    WorkItem,
)
from tvoxcc.queues.reference import LinearScanRouter
from tvoxcc.queues.router import Router
from tvoxcc.queues.state import Agent, Item, QueueState

AGENTS, QUEUES, SKILLS, TEAMS = 10_000, 500, 50, 100
STRATEGIES = [Strategy.LONGEST_IDLE] * 6 + [Strategy.FEWEST_HANDLED, Strategy.ROUND_ROBIN, Strategy.LINEAR]
STRATEGIES += [Strategy.WEIGHTED_RANDOM]
HANDLE_S = {Channel.VOICE: 150.0, Channel.CHAT: 240.0, Channel.MAIL: 300.0}


class Timing:
    """Decision timing shared by both routers: each sample is tagged with the router call it happened in."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)  # type: ignore[call-arg]  # the router's, next in the MRO
        self.samples: list[int] = []
        self.tags: list[str] = []
        self.call = "setup"

    def _timed_pick_agents(self, chosen: list[str], start: int) -> list[str]:
        self.samples.append(time.perf_counter_ns() - start)
        self.tags.append(f"{self.call}/item->agent")
        return chosen

    def _timed_pick_item(self, chosen: Item | None, start: int) -> Item | None:
        self.samples.append(time.perf_counter_ns() - start)
        self.tags.append(f"{self.call}/agent->item")
        return chosen


class TimedRouter(Timing, Router):
    def _pick_agents(self, q: QueueState, item: Item) -> list[str]:
        start = time.perf_counter_ns()
        return self._timed_pick_agents(super()._pick_agents(q, item), start)

    def _pick_item(self, agent: Agent) -> Item | None:
        start = time.perf_counter_ns()
        return self._timed_pick_item(super()._pick_item(agent), start)


class TimedLinearRouter(Timing, LinearScanRouter):
    def _pick_agents(self, q: QueueState, item: Item) -> list[str]:
        start = time.perf_counter_ns()
        return self._timed_pick_agents(super()._pick_agents(q, item), start)

    def _pick_item(self, agent: Agent) -> Item | None:
        start = time.perf_counter_ns()
        return self._timed_pick_item(super()._pick_item(agent), start)


def skills_of(router: Router, queue: str) -> dict[str, int]:
    view = router.queue_view(queue)
    assert view is not None
    return dict(view.config.skills)


def build(router: Router, seed: int) -> list[str]:
    """Queues and agents; returns the queue names weighted by popularity for arrivals."""
    rng = random.Random(seed)
    skills = [f"s{n}" for n in range(SKILLS)]
    names = [f"q{n}" for n in range(QUEUES)]
    for n, name in enumerate(names):
        required = {skill: rng.randint(3, 6) for skill in rng.sample(skills, rng.randint(1, 2))}
        overflow = (OverflowRule(OverflowWhen.WAIT, OverflowAction.QUEUE, names[(n + 1) % QUEUES], after_s=240),)
        config = QueueConfig(
            name,
            rng.choice(STRATEGIES),
            required,
            (RelaxRule(20, 3), RelaxRule(60, 1)),
            overflow,
            wrapup_s=rng.choice([0, 5, 10]),
            ring_timeout_s=15,
            max_wait_s=900,
        )
        router.add_queue(config, 0)
    team_queues = [names[t::TEAMS] for t in range(TEAMS)]  # 5 queues per team
    for n in range(AGENTS):
        team = team_queues[n % TEAMS]
        own = rng.sample(team, rng.randint(3, 5))
        agent_skills = {s: rng.randint(2, 9) for q in own for s in skills_of(router, q)}
        agent_skills |= {s: rng.randint(1, 9) for s in rng.sample(skills, 3)}
        capacity = rng.choice(
            [{Channel.VOICE: 1}] * 3 + [{Channel.VOICE: 1, Channel.CHAT: 3}, {Channel.MAIL: 5, Channel.CHAT: 2}]
        )
        router.add_agent(AgentConfig(f"a{n}", capacity, True, agent_skills), 0)
        for queue in own:
            router.add_member(f"a{n}", queue, 0, penalty=rng.randint(0, 3), weight=rng.randint(1, 5))
        router.login(f"a{n}", 0)
    popularity = [rng.paretovariate(1.5) for _ in names]
    return rng.choices(names, popularity, k=20_000)


@dataclass
class Result:
    events: int = 0
    call_ns: list[int] = field(default_factory=list)
    decision_ns: list[int] = field(default_factory=list)
    decision_tags: list[str] = field(default_factory=list)  # "<router call>/<decision>" for each sample
    wall_s: float = 0.0
    peak_bytes: int = 0


TimedRouters = TimedRouter | TimedLinearRouter


def simulate(router: TimedRouters, seed: int, max_events: int, item_skills: float = 0.0) -> Result:
    """Drive the router with a seeded arrival/answer/talk/abandon mix; time every router call."""
    rng = random.Random(seed + 1)
    arrivals = build(router, seed)
    # Long-lived state is built: keep the cyclic GC from rescanning it (what a long-running server does).
    gc.collect()
    gc.freeze()
    # Building logs agents in and routes nothing; keep only the run's decisions.
    router.samples, router.tags = [], []
    result = Result(decision_ns=router.samples, decision_tags=router.tags)
    pending: list[tuple[float, int, str, str, str]] = []  # (at, seq, what, item, agent)
    seq = 0
    rate = 62.0  # arrivals per second: about 95% of the staffed capacity for this mix
    next_arrival, next_tick, n = 0.0, 1.0, 0

    def schedule(at: float, what: str, item_id: str, agent_id: str = "") -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(pending, (at, seq, what, item_id, agent_id))

    def handle(out: Outputs, now: float) -> None:
        for command in out.commands:
            if isinstance(command, Offer):
                if rng.random() < 0.95:
                    schedule(now + rng.uniform(1, 6), "accept", command.item_id, command.agent_id)
            elif isinstance(command, PauseAgent):
                schedule(now + 30, "unpause", "", command.agent_id)
            elif isinstance(command, PlaceCallback):
                schedule(now + 8, "answered", command.item_id)

    call_ns = result.call_ns
    started = time.perf_counter()
    while result.events < max_events:
        now = min(next_arrival, next_tick, pending[0][0] if pending else math.inf)
        if now == next_arrival:
            n += 1
            channel = rng.choices((Channel.VOICE, Channel.CHAT, Channel.MAIL), (8, 1, 1))[0]
            queue = arrivals[n % len(arrivals)]
            asks: dict[str, int] = {}
            if item_skills and rng.random() < item_skills:
                levels = skills_of(router, queue)
                skill = rng.choice(sorted(levels))
                asks[skill] = min(9, levels[skill] + rng.randint(1, 2))
            work = WorkItem(f"i{n}", queue, channel, rng.choice((0, 0, 0, 0, 5)), "+3906", skills=asks)
            method, args = router.enqueue, (work, now)
            next_arrival = now + rng.expovariate(rate)
            if channel is Channel.VOICE:
                schedule(now + rng.expovariate(1 / 180), "abandon", work.item_id)
        elif now == next_tick:
            method, args = router.tick, (now,)
            next_tick += 1.0
        else:
            _, _, what, item_id, agent_id = heapq.heappop(pending)
            item = router.item_view(item_id)
            if what == "unpause":
                method, args = router.unpause, (agent_id, now)
            elif item is None:
                continue
            elif what == "accept":
                method, args = router.accept, (item_id, agent_id, now)
                schedule(now + rng.expovariate(1 / HANDLE_S.get(item.channel, 150.0)), "complete", item_id)
            elif what == "complete":
                method, args = router.complete, (item_id, now)
            elif what == "answered":
                method, args = router.callback_answered, (item_id, now)
            elif item.status == "waiting":  # abandon
                if rng.random() < 0.2:
                    method, args = router.request_callback, (item_id, now)
                else:
                    method, args = router.abandon, (item_id, now)
            else:
                continue
        router.call = method.__name__
        start = time.perf_counter_ns()
        try:
            out = method(*args)  # type: ignore[operator]
        except RouterError:
            continue  # e.g. an accept that lost the race with a ring timeout, as on a real system
        call_ns.append(time.perf_counter_ns() - start)
        result.events += 1
        handle(out, now)
    result.wall_s = time.perf_counter() - started
    return result


def percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000.0


def peak_memory(router_class: type[TimedRouters], seed: int, events: int, item_skills: float) -> int:
    tracemalloc.start()
    simulate(router_class(random.Random(seed)), seed, events, item_skills)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def report(name: str, result: Result) -> None:
    decisions = result.decision_ns
    print(
        f"{name:>8}: {result.events:,} events in {result.wall_s:.1f} s, {len(decisions):,} decisions; "
        f"decisions/s {len(decisions) / (sum(decisions) / 1e9):,.0f}; "
        f"decision p50 {percentile(decisions, 0.5):.1f} µs p99 {percentile(decisions, 0.99):.1f} µs; "
        f"event p50 {percentile(result.call_ns, 0.5):.1f} µs p99 {percentile(result.call_ns, 0.99):.1f} µs "
        f"({result.events / (sum(result.call_ns) / 1e9):,.0f} events/s); "
        f"tracemalloc peak {result.peak_bytes / 2**20:.0f} MiB"
    )


def breakdown(name: str, result: Result) -> None:
    """Decision latency per router call and decision kind, and each kind's share of the slowest 1%."""
    p99 = percentile(result.decision_ns, 0.99) * 1000
    by_tag: dict[str, list[int]] = {}
    for ns, tag in zip(result.decision_ns, result.decision_tags, strict=True):
        by_tag.setdefault(tag, []).append(ns)
    tail = sum(ns > p99 for ns in result.decision_ns) or 1
    print(f"{name:>8} by kind: {'decisions':>9} {'p50 µs':>7} {'p99 µs':>7} {'of tail':>7}")
    for tag, samples in sorted(by_tag.items(), key=lambda pair: -len(pair[1])):
        in_tail = sum(ns > p99 for ns in samples)
        print(
            f"  {tag:<32} {len(samples):>9,} {percentile(samples, 0.5):>7.1f} {percentile(samples, 0.99):>7.1f} "
            f"{100 * in_tail / tail:>6.1f}%"
        )


AIM_P99_US = 50.0


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--breakdown", action="store_true", help="decision latency per router call and kind")
    parser.add_argument("--item-skills", type=float, default=0.0, metavar="F", help="fraction asking own skills")
    args = parser.parse_args()
    if not 0.0 <= args.item_skills <= 1.0:
        parser.error(f"--item-skills: {args.item_skills} is not a fraction between 0 and 1")
    aim = Aim(__doc__, quick=args.quick)
    events, memory_events = (20_000, 2_000) if args.quick else (250_000, 10_000)
    asking = f"; {args.item_skills:.0%} of items ask skills of their own" if args.item_skills else ""
    print(
        f"{AGENTS:,} agents, {QUEUES} queues, {SKILLS} skills; {events:,} events each; seed {args.seed}{asking}",
        flush=True,
    )

    ours = simulate(TimedRouter(random.Random(args.seed)), args.seed, events, args.item_skills)
    ours.peak_bytes = peak_memory(TimedRouter, args.seed, memory_events, args.item_skills)
    report("router", ours)
    if args.breakdown:
        breakdown("router", ours)

    base = simulate(TimedLinearRouter(random.Random(args.seed)), args.seed, events, args.item_skills)
    base.peak_bytes = peak_memory(TimedLinearRouter, args.seed, memory_events, args.item_skills)
    report("baseline", base)
    if args.breakdown:
        breakdown("baseline", base)

    def ratio(fraction: float) -> float:
        return percentile(base.decision_ns, fraction) / percentile(ours.decision_ns, fraction)

    throughput = (len(ours.decision_ns) / sum(ours.decision_ns)) / (len(base.decision_ns) / sum(base.decision_ns))
    events_ratio = statistics.fmean(base.call_ns) / statistics.fmean(ours.call_ns)
    print(
        f"baseline/router: decisions/s {throughput:.1f}x, decision p99 {ratio(0.99):.1f}x, "
        f"end-to-end events/s {events_ratio:.1f}x"
    )
    p99 = percentile(ours.decision_ns, 0.99)
    aim.check(f"router decision p99 {p99:.1f} µs <= {AIM_P99_US:.0f} µs", p99 <= AIM_P99_US)
    # p50, not p99: on a shared machine the baseline's p99 is mostly the scheduler's, and swings 20x-1000x
    aim.finish("baseline/router decision p50", ratio(0.5), digits=1)


if __name__ == "__main__":
    main()
