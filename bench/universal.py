"""The universal queue end to end: a mixed stream through the ACD service with its state in the store.

2,000 agents (voice 1, chat 2, mail 3; skills), 200 queues (strategies, skill minimums, relaxation); items
are 40% calls, 25% chats, 25% mails (tickets: accepted when offered), 10% callbacks. The adapter is in
process (as `voice run` embeds the ACD) and also gets every command as an acd_commands row (InStore, as the
support service reads them): an offer counts when its decision's rows are committed and the command
released. The adapter answers each offer at once (a callback: the customer answers, then the agent) and
completes the item `--hold` seconds later (latency phase: `--paced-hold`, 0.1 s; wrap-up 0), so agents are
mostly free and the latency measured is the ACD's own, not a wait for an agent.

Two phases on one store: throughput (`--items` submitted as fast as the loop can, in bursts; items/s from
the first submit to the last offer released) and latency (`--paced` items submitted at `--rate` per second,
submit -> offer released p50/p99). Baseline in the same run: the bare in-memory Router on the same stream
(same agents, queues and items, offers answered and completed at once), items/s and p50/p99 per item.
SQLite by default (a fresh file), a private PostgreSQL with --postgres, or --db URL. --quick: 500 agents,
50 queues, fewer items.

Aim: on PostgreSQL (--postgres) >= 2,000 items/s end to end and submit -> offer p99 <= 20 ms at 2,000
items/s offered; on SQLite >= 1,000 items/s and p99 <= 50 ms at 1,000 items/s offered; exit 1 when missed.
The last line is the ratio of the ACD's items/s to the bare router's.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import random
import statistics
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _contract import Aim, arguments
from _db import add_database_options, bench_database

from tvoxcc.acd import AcdConfig, AcdService, Command, CommandKind, FixedConfig, InProcess, InStore, NewItem
from tvoxcc.queues import model as q
from tvoxcc.queues.router import Router
from tvoxcc.store.engine import Store

SKILLS = 20
MIX = [(q.Channel.VOICE, 40), (q.Channel.CHAT, 25), (q.Channel.MAIL, 25), (q.Channel.CALLBACK, 10)]
STRATEGIES = [q.Strategy.LONGEST_IDLE] * 3 + [q.Strategy.FEWEST_HANDLED, q.Strategy.ROUND_ROBIN, q.Strategy.LINEAR]
AIMS = {"postgresql": (2000.0, 20.0), "sqlite": (1000.0, 50.0)}  # items/s at least, p99 ms at most


@dataclass(frozen=True)
class World:
    queues: list[q.QueueConfig]
    agents: list[tuple[q.AgentConfig, list[tuple[str, int, int]]]]
    items: list[tuple[str, str, q.Channel, int]]  # item id, queue, channel, contact priority


def world(agents: int, queues: int, items: int, seed: int) -> World:
    rng = random.Random(seed)
    configs, needs = [], {}
    for n in range(queues):
        skills = {f"s{k}": rng.randint(1, 5) for k in rng.sample(range(SKILLS), rng.randint(0, 2))}
        relax = (q.RelaxRule(5.0, 1),) if skills and rng.random() < 0.5 else ()
        name = f"t/q{n}"
        needs[name] = skills
        configs.append(q.QueueConfig(name, rng.choice(STRATEGIES), skills, relax, wrapup_s=0.0, ring_timeout_s=30))
    team = []
    for n in range(agents):
        mine = rng.sample([c.name for c in configs], 3)
        levels = {f"s{k}": rng.randint(1, 9) for k in rng.sample(range(SKILLS), 3)}
        for name in mine:  # qualifies for its queues (else their items could wait for ever)
            for skill, level in needs[name].items():
                levels[skill] = max(levels.get(skill, 0), level)
        capacity = {q.Channel.VOICE: 1, q.Channel.CHAT: 2, q.Channel.MAIL: 3}
        team.append(
            (q.AgentConfig(f"t-a{n}", capacity, skills=levels), [(name, rng.randint(0, 1), 1) for name in mine])
        )
    popular = [1.0 / (1 + n) ** 0.5 for n in range(queues)]  # uneven queue popularity
    channels, weights = zip(*MIX, strict=True)
    stream = [
        (
            f"i{n}",
            rng.choices(configs, popular)[0].name,
            rng.choices(channels, weights)[0],
            rng.choice([0, 0, 0, 5]),
        )
        for n in range(items)
    ]
    return World(configs, team, stream)


def new_item(item: tuple[str, str, q.Channel, int]) -> NewItem:
    item_id, queue, channel, priority = item
    return NewItem(
        queue,
        channel,
        item_id=item_id,
        contact_priority=priority,
        callback_number="0611" if channel is q.Channel.CALLBACK else "",
        auto_accept=channel is q.Channel.MAIL,
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


@dataclass
class Adapter:
    """The channel adapters in process: answer offers at once, complete ``hold`` seconds later."""

    acd: AcdService
    hold: float
    submitted: dict[str, float] = field(default_factory=dict)
    offered: dict[str, float] = field(default_factory=dict)
    todo: deque[Command] = field(default_factory=deque)
    completes: list[tuple[float, str]] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def on_command(self, command: Command) -> None:
        if command.kind in (CommandKind.OFFER, CommandKind.PLACE_CALLBACK) and command.item_id:
            if command.item_id in self.submitted and command.item_id not in self.offered:
                self.offered[command.item_id] = time.perf_counter()
            self.todo.append(command)
            self.wake.set()

    def act(self) -> None:
        now = time.perf_counter()
        while self.todo:
            c = self.todo.popleft()
            assert c.item_id and c.agent_id
            if c.kind is CommandKind.PLACE_CALLBACK:
                self.acd.callback_answered(c.item_id)  # the customer answered: the agent is offered the call
            elif c.channel is q.Channel.MAIL:
                heapq.heappush(self.completes, (now + self.hold, c.item_id))  # accepted with the offer
            else:
                self.acd.accept(c.item_id, c.agent_id)
                heapq.heappush(self.completes, (now + self.hold, c.item_id))
        while self.completes and self.completes[0][0] <= now:
            self.acd.complete(heapq.heappop(self.completes)[1])

    async def until_offered(self, ids: list[str], give_up_s: float = 120.0) -> None:
        deadline = time.perf_counter() + give_up_s
        while any(i not in self.offered for i in ids):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{sum(i not in self.offered for i in ids)} items never offered")
            self.act()
            self.wake.clear()
            pause = min(0.01, max(0.0, self.completes[0][0] - time.perf_counter())) if self.completes else 0.01
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), pause)
        while self.completes or self.todo:  # finish the phase: every agent free again
            self.act()
            await asyncio.sleep(0.001)
        await self.acd.flush()


async def through_acd(
    url: str, w: World, burst: int, paced: int, rate: float, hold: float, paced_hold: float
) -> dict[str, float]:
    store = Store.from_url(url)
    inbox = InProcess()
    acd = AcdService(store, FixedConfig(AcdConfig(w.queues, w.agents)), transports=[inbox, InStore()], freeze_heap=True)
    adapter = Adapter(acd, hold)
    inbox.subscribe(adapter.on_command)
    await acd.start()
    for config, _ in w.agents:
        acd.login(config.agent_id)
    await acd.flush()
    split = len(w.items) - paced
    # Throughput: bursts of ``burst`` items, the loop yielding between them (the writer batches meanwhile).
    started = time.perf_counter()
    for at in range(0, split, burst):
        for item in w.items[at : at + burst]:
            adapter.submitted[item[0]] = time.perf_counter()
            acd.submit(new_item(item))
        adapter.act()
        await asyncio.sleep(0)
    await adapter.until_offered([i[0] for i in w.items[:split]])
    last = max(adapter.offered[i[0]] for i in w.items[:split])
    throughput = split / (last - started)
    # Latency: paced at ``rate`` items/s.
    adapter.hold = paced_hold
    begun = time.perf_counter()
    sent = split
    while sent < len(w.items):
        due = split + min(paced, int((time.perf_counter() - begun) * rate) + 1)
        while sent < due:
            item = w.items[sent]
            adapter.submitted[item[0]] = time.perf_counter()
            acd.submit(new_item(item))
            sent += 1
        adapter.act()
        adapter.wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(adapter.wake.wait(), 0.001)
    await adapter.until_offered([i[0] for i in w.items[split:]])
    waits = [(adapter.offered[i[0]] - adapter.submitted[i[0]]) * 1000 for i in w.items[split:]]
    await acd.stop()
    await store.dispose()
    return {"items_s": throughput, "p50_ms": statistics.median(waits), "p99_ms": percentile(waits, 0.99)}


def bare_router(w: World) -> dict[str, float]:
    """The same stream through the in-memory Router alone: offers answered and completed at once."""
    router = Router(random.Random(1))
    now = time.time()
    for config in w.queues:
        router.add_queue(config, now)
    for config, members in w.agents:
        router.add_agent(config, now)
        for queue, penalty, weight in members:
            router.add_member(config.agent_id, queue, now, penalty=penalty, weight=weight)
        router.login(config.agent_id, now)
    waits = []
    started = time.perf_counter()
    for item_id, queue, channel, priority in w.items:
        t0 = time.perf_counter()
        work = q.WorkItem(item_id, queue, channel, priority, callback_number="0611")
        todo = list(router.enqueue(work, time.time()).commands)
        waits.append((time.perf_counter() - t0) * 1000)
        while todo:
            c = todo.pop(0)
            if isinstance(c, q.PlaceCallback):
                todo += router.callback_answered(c.item_id, time.time()).commands
            elif isinstance(c, q.Offer):
                router.accept(c.item_id, c.agent_id, time.time())
                todo += router.complete(c.item_id, time.time()).commands
    elapsed = time.perf_counter() - started
    return {"items_s": len(w.items) / elapsed, "p50_ms": statistics.median(waits), "p99_ms": percentile(waits, 0.99)}


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--queues", type=int, default=200)
    parser.add_argument("--items", type=int, default=20_000, help="throughput phase (default 20,000)")
    parser.add_argument("--paced", type=int, default=10_000, help="latency phase (default 10,000)")
    parser.add_argument("--rate", type=float, help="items/s offered in the latency phase (default: the aim's)")
    parser.add_argument("--burst", type=int, default=100, help="items submitted between two yields")
    parser.add_argument("--hold", type=float, default=0.0, help="seconds an item stays in hand (throughput)")
    parser.add_argument("--paced-hold", type=float, default=0.1, help="the same, latency phase (default 0.1)")
    add_database_options(parser)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    aim = Aim(__doc__, quick=args.quick)
    if args.quick:
        args.agents, args.queues = min(args.agents, 500), min(args.queues, 50)
        args.items, args.paced = min(args.items, 4000), min(args.paced, 3000)
    with bench_database(args) as url:
        backend = "postgresql" if url.startswith("postgres") else "sqlite"
        min_rate, max_p99 = AIMS[backend]
        rate = args.rate or min_rate
        w = world(args.agents, args.queues, args.items + args.paced, args.seed)
        print(f"{backend}: {args.agents} agents, {args.queues} queues; {args.items} items as fast as possible, then "
              f"{args.paced} at {rate:.0f}/s", flush=True)  # fmt: skip
        bare = bare_router(w)
        print(f"bare router: {bare['items_s']:,.0f} items/s, per item p50 {bare['p50_ms']:.3f} ms "
              f"p99 {bare['p99_ms']:.3f} ms", flush=True)  # fmt: skip
        got = asyncio.run(through_acd(url, w, args.burst, args.paced, rate, args.hold, args.paced_hold))
    print(f"ACD service ({backend}): {got['items_s']:,.0f} items/s end to end; at {rate:.0f}/s submit -> offer "
          f"p50 {got['p50_ms']:.2f} ms p99 {got['p99_ms']:.2f} ms", flush=True)  # fmt: skip
    aim.check(f"{backend} {got['items_s']:,.0f} items/s >= {min_rate:,.0f}", got["items_s"] >= min_rate)
    aim.check(f"{backend} p99 {got['p99_ms']:.2f} ms <= {max_p99:.0f} ms", got["p99_ms"] <= max_p99)
    aim.finish("ACD items/s / bare router items/s", got["items_s"] / bare["items_s"], digits=3)


if __name__ == "__main__":
    main()
