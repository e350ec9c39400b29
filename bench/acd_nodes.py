"""One ACD routing for 10 simulated voice nodes and 5,000 agents, against the same load from one node, same run.

One AcdService on the real store (a fresh SQLite file, a private PostgreSQL with --postgres, or --db URL), with
the transports `voice run` gives it (in process for calls, acd_commands rows for the other channels). Each
simulated node is an in-process adapter subscribed to that in-process transport, as a voice run's node would
be: it submits the calls of its callers, answers at once the offers made to its own agents (it ignores the
others'), and hangs up each call ``--hold`` seconds later; each node runs as its own task. Agents (voice
capacity 1) are spread over the nodes, each a member of two of ``--queues`` longest-idle queues; callers are
spread over the nodes too. Two phases per run: ``--items`` calls submitted as fast as the loop can (bursts of
``--burst``, a yield between): routed items/s from the first submit to the last offer released; then
``--paced`` calls at a steady ``--rate`` per second: submit -> offer released p50/p95.

Every offer released is checked: an agent offered an item while it still holds another (offered or in hand,
not yet hung up) is a double offer; an offer taken by no node or by more than one is a misrouted one.
Baseline in the same run, on the same store: the same agents, queues and calls from one node. ``--rounds``
(3) runs of each, alternating (1 node, then 10): each side's best routed items/s counts (this machine is
shared); every run's offers are checked. --quick: 1,000 agents, 2,000 + 1,000 calls at 500/s per run.

Aim: with 10 nodes the ACD routes >= 0.8x the items/s it routes for 1 node (the node count costs little), and
no agent is ever offered two items at once: 0 double offers and 0 misrouted offers over every run; exit 1 when
missed. The last line is the ratio of the items/s with 10 nodes to that with 1 node.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _contract import Aim, arguments
from _db import add_database_options, bench_database

from tvoxcc.acd import AcdConfig, AcdService, Command, CommandKind, FixedConfig, InProcess, InStore, NewItem
from tvoxcc.queues import model as q
from tvoxcc.store.engine import Store

AIM_RATIO = 0.8
VOICE_CHANNELS = (q.Channel.VOICE, q.Channel.CALLBACK)  # carried out in process, as `voice run` does


@dataclass(frozen=True)
class Load:
    """The same for every run: queues, agents (with their queues), calls (queue of each)."""

    queues: list[q.QueueConfig]
    agents: list[tuple[q.AgentConfig, list[tuple[str, int, int]]]]
    calls: list[str]  # the queue of each call, in arrival order


def make_load(agents: int, queues: int, calls: int, seed: int) -> Load:
    rng = random.Random(seed)
    configs = [
        q.QueueConfig(f"t/q{n}", q.Strategy.LONGEST_IDLE, wrapup_s=0.0, ring_timeout_s=30) for n in range(queues)
    ]
    names = [c.name for c in configs]
    team = [
        (q.AgentConfig(f"t-a{n}", {q.Channel.VOICE: 1}), [(name, 0, 1) for name in rng.sample(names, min(2, queues))])
        for n in range(agents)
    ]
    return Load(configs, team, [rng.choice(names) for _ in range(calls)])


@dataclass
class Ledger:
    """Every offer released, checked: an agent holds at most one item from its offer until it hangs up."""

    holding: dict[str, str] = field(default_factory=dict)  # agent -> the item offered to it / in its hands
    takers: Counter[str] = field(default_factory=Counter)  # offer (item, agent) -> nodes that took it
    submitted: dict[str, float] = field(default_factory=dict)
    offered: dict[str, float] = field(default_factory=dict)
    double_offers: list[tuple[str, str, str]] = field(default_factory=list)  # (agent, held item, new item)

    def offer(self, agent: str, item: str) -> None:
        held = self.holding.get(agent)
        if held is not None and held != item:
            self.double_offers.append((agent, held, item))
        self.holding[agent] = item
        self.offered.setdefault(item, time.perf_counter())

    def release(self, agent: str, item: str) -> None:
        if self.holding.get(agent) == item:
            del self.holding[agent]

    def misrouted(self, offers: int) -> int:
        """Offers taken by no node or by several (``offers``: how many the ACD released)."""
        return sum(n != 1 for n in self.takers.values()) + max(0, offers - len(self.takers))


@dataclass
class Node:
    """One simulated voice node: its callers' calls in, its agents' offers answered, calls hung up after ``hold``."""

    name: str
    agents: frozenset[str]
    acd: AcdService
    ledger: Ledger
    hold: float
    todo: list[Command] = field(default_factory=list)
    talking: int = 0  # calls answered, not hung up yet
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    quiet: asyncio.Event = field(default_factory=asyncio.Event)  # set when its last call hangs up

    def on_command(self, command: Command) -> None:
        """The in-process transport's callback (inside the ACD's release: answered later, by ``serve``)."""
        if command.agent_id not in self.agents:
            return  # another node's agent
        if command.kind is CommandKind.OFFER and command.item_id:
            self.ledger.takers[f"{command.item_id}>{command.agent_id}"] += 1
            self.ledger.offer(command.agent_id, command.item_id)
            self.todo.append(command)
            self.wake.set()
        elif command.kind is CommandKind.CANCEL_OFFER and command.item_id:
            self.ledger.release(command.agent_id, command.item_id)

    def submit(self, item_id: str, queue: str) -> None:
        self.ledger.submitted[item_id] = time.perf_counter()
        self.acd.submit(NewItem(queue, q.Channel.VOICE, item_id=item_id, caller_id=self.name))

    def answer(self) -> None:
        todo, self.todo = self.todo, []
        loop = asyncio.get_running_loop()
        for c in todo:  # the agent answers at once
            assert c.item_id and c.agent_id
            self.acd.accept(c.item_id, c.agent_id)
            self.talking += 1
            loop.call_later(self.hold, self.hang_up, c.item_id, c.agent_id)

    def hang_up(self, item_id: str, agent_id: str) -> None:
        self.ledger.release(agent_id, item_id)
        self.acd.complete(item_id)
        self.talking -= 1
        if not self.talking and not self.todo:
            self.quiet.set()

    async def serve(self) -> None:
        """The node's own task: answer its agents' offers as they come (cancelled at the end of the run)."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            self.answer()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


@dataclass
class Run:
    """What one run measured."""

    nodes: int
    items_s: float
    p50_ms: float
    p95_ms: float
    offers: int
    double_offers: list[tuple[str, str, str]]
    misrouted: int


class Deployment:
    """The ACD and its nodes, started: agents spread over the nodes and logged in."""

    def __init__(self, store: Store, load: Load, nodes: int, hold: float, *, freeze_heap: bool = False) -> None:
        self.load = load
        self.inbox = InProcess()
        self.acd = AcdService(
            store,
            FixedConfig(AcdConfig(load.queues, load.agents)),
            transports=[self.inbox, InStore([ch for ch in q.Channel if ch not in VOICE_CHANNELS])],
            # the bench owns its process, as `acd run` does: no collector pass walks the router (never in tests)
            freeze_heap=freeze_heap,
        )
        self.ledger = Ledger()
        ids = [config.agent_id for config, _ in load.agents]
        self.nodes = [Node(f"node{k + 1}", frozenset(ids[k::nodes]), self.acd, self.ledger, hold) for k in range(nodes)]
        for node in self.nodes:
            self.inbox.subscribe(node.on_command, channels=VOICE_CHANNELS)
        self.offers = 0  # offers the ACD released, whichever node takes them
        self.inbox.subscribe(self._count, channels=VOICE_CHANNELS)
        self.tasks: list[asyncio.Task[None]] = []

    def _count(self, command: Command) -> None:
        self.offers += command.kind is CommandKind.OFFER

    async def start(self) -> None:
        await self.acd.start()
        for config, _ in self.load.agents:
            if self.acd.agent_status(config.agent_id) is q.AgentStatus.LOGGED_OUT:
                self.acd.login(config.agent_id)
        await self.acd.flush()
        self.tasks = [asyncio.create_task(node.serve()) for node in self.nodes]

    async def until_offered(self, ids: list[str], give_up_s: float = 120.0) -> float:
        """When the last of ``ids`` was offered."""
        deadline = time.perf_counter() + give_up_s
        waiting = 0  # ids[:waiting] are offered (a cursor: the check stays cheap beside the ACD)
        while waiting < len(ids):
            while waiting < len(ids) and ids[waiting] in self.ledger.offered:
                waiting += 1
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{sum(i not in self.ledger.offered for i in ids)} calls never offered")
            if waiting < len(ids):
                await asyncio.sleep(0.005)
        return max(self.ledger.offered[i] for i in ids)

    async def finish(self) -> None:
        """Every call hung up, every agent logged out (the next run starts from the same store)."""
        for node in self.nodes:
            while node.talking or node.todo:
                node.quiet.clear()
                await node.quiet.wait()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for config, _ in self.load.agents:
            self.acd.logout(config.agent_id)
        await self.acd.flush()
        await self.acd.stop()


async def route(
    url: str,
    load: Load,
    nodes: int,
    *,
    items: int,
    burst: int,
    rate: float,
    hold: float,
    tag: str,
    freeze_heap: bool = False,
) -> Run:
    """One run: ``items`` calls as fast as possible, then the rest of ``load.calls`` at ``rate`` per second."""
    store = Store.from_url(url)
    d = Deployment(store, load, nodes, hold, freeze_heap=freeze_heap)
    await d.start()
    calls = [(f"{tag}-c{n}", queue) for n, queue in enumerate(load.calls)]
    fast, paced = calls[:items], calls[items:]
    started = time.perf_counter()
    for at in range(0, len(fast), burst):
        for n, (item_id, queue) in enumerate(fast[at : at + burst], start=at):
            d.nodes[n % nodes].submit(item_id, queue)  # callers spread over the nodes
        await asyncio.sleep(0)
    last = await d.until_offered([i for i, _ in fast])
    items_s = len(fast) / (last - started)
    begun = time.perf_counter()
    sent = 0
    while sent < len(paced):
        due = min(len(paced), int((time.perf_counter() - begun) * rate) + 1)
        for n in range(sent, due):
            d.nodes[n % nodes].submit(*paced[n])
        sent = due
        await asyncio.sleep(0.001)
    await d.until_offered([i for i, _ in paced])
    await d.finish()
    await store.dispose()
    waits = [(d.ledger.offered[i] - d.ledger.submitted[i]) * 1000 for i, _ in paced] or [0.0]
    return Run(
        nodes,
        items_s,
        statistics.median(waits),
        percentile(waits, 0.95),
        d.offers,
        d.ledger.double_offers,
        d.ledger.misrouted(d.offers),
    )


def show(run: Run, backend: str) -> None:
    print(f"{run.nodes} node{'s' if run.nodes > 1 else ''} ({backend}): {run.items_s:,.0f} routed items/s; "
          f"steady rate submit -> offer p50 {run.p50_ms:.2f} ms p95 {run.p95_ms:.2f} ms; {run.offers} offers, "
          f"{len(run.double_offers)} double, {run.misrouted} misrouted", flush=True)  # fmt: skip
    for agent, held, new in run.double_offers[:5]:
        print(f"  double offer: {agent} offered {new} while holding {held}", flush=True)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--queues", type=int, default=100)
    parser.add_argument("--items", type=int, default=20_000, help="calls submitted as fast as possible, per run")
    parser.add_argument("--paced", type=int, default=10_000, help="calls at --rate per second, per run")
    parser.add_argument("--rate", type=float, default=1000.0, help="calls/s offered in the steady phase")
    parser.add_argument("--burst", type=int, default=100, help="calls submitted between two yields")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each (1 node, then N); the best counts")
    parser.add_argument("--hold", type=float, default=0.5, help="seconds a call lasts once answered")
    add_database_options(parser)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    aim = Aim(__doc__, quick=args.quick)
    if args.quick:
        args.agents, args.items, args.paced = min(args.agents, 1000), min(args.items, 2000), min(args.paced, 1000)
        args.hold, args.rate = min(args.hold, 0.2), min(args.rate, 500.0)
    with bench_database(args) as url:
        backend = "postgresql" if url.startswith("postgres") else "sqlite"
        load = make_load(args.agents, args.queues, args.items + args.paced, args.seed)
        print(f"{backend}: {args.agents} agents, {args.queues} queues; per run {args.items} calls as fast as "
              f"possible, then {args.paced} at {args.rate:.0f}/s; calls last {args.hold} s", flush=True)  # fmt: skip
        runs = []
        for round_ in range(args.rounds):
            for nodes in (1, args.nodes):
                tag = f"r{round_}n{nodes}"
                got = asyncio.run(
                    route(url, load, nodes, items=args.items, burst=args.burst, rate=args.rate, hold=args.hold,
                          tag=tag, freeze_heap=True)
                )  # fmt: skip
                show(got, backend)
                runs.append(got)
    one = max((r for r in runs if r.nodes == 1), key=lambda r: r.items_s)
    many = max((r for r in runs if r.nodes != 1), key=lambda r: r.items_s)
    print(f"best of {args.rounds}: 1 node {one.items_s:,.0f} routed items/s, {many.nodes} nodes "
          f"{many.items_s:,.0f}", flush=True)  # fmt: skip
    ratio = many.items_s / one.items_s
    aim.check(f"{many.nodes} nodes route {ratio:.2f}x the items/s of 1 node >= {AIM_RATIO}", ratio >= AIM_RATIO)
    doubles = sum(len(r.double_offers) for r in runs)
    aim.check(f"{doubles} double offers over {sum(r.offers for r in runs)} offers == 0", doubles == 0)
    misrouted = sum(r.misrouted for r in runs)
    aim.check(f"{misrouted} misrouted offers == 0", misrouted == 0)
    aim.finish(f"routed items/s {many.nodes} nodes/1 node", ratio)


if __name__ == "__main__":
    main()
