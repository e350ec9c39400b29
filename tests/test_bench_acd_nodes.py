"""bench/acd_nodes.py's core at tiny sizes on the real store (SQLite and PostgreSQL): every call offered once, to
one node, with no double offer; and its double-offer check is not vacuous: an offer forged through the same
in-process transport to an agent still holding a call is counted (no timing here: the bench times)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tvoxcc.acd import Command, CommandKind
from tvoxcc.queues import model as q
from tvoxcc.store.engine import Store

BENCH = Path(__file__).resolve().parent.parent / "bench"


def load_bench() -> ModuleType:
    sys.path.insert(0, str(BENCH))  # the bench imports its helpers (_contract, _db) as a script does
    spec = importlib.util.spec_from_file_location("bench_acd_nodes", BENCH / "acd_nodes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


bench = load_bench()


async def test_every_call_is_offered_once_to_its_agents_node_with_no_double_offer(migrated_url: str) -> None:
    # 6 agents for 40 calls lasting 50 ms: calls wait for agents, who are offered the next one as they hang up
    load = bench.make_load(6, 2, 40, seed=3)
    run = await bench.route(migrated_url, load, 3, items=30, burst=5, rate=400.0, hold=0.05, tag="t")
    assert (run.nodes, run.offers, run.double_offers, run.misrouted) == (3, 40, [], 0)
    assert run.items_s > 0


async def test_a_forged_offer_to_an_agent_holding_a_call_is_a_double_offer(migrated_url: str) -> None:
    load = bench.make_load(2, 1, 0, seed=1)
    store = Store.from_url(migrated_url)
    d = bench.Deployment(store, load, 2, hold=30.0)  # calls last: the agent still holds its call below
    await d.start()
    try:
        d.nodes[0].submit("c1", "t/q0")
        await d.until_offered(["c1"])
        agent = next(agent for agent, item in d.ledger.holding.items() if item == "c1")
        assert d.ledger.double_offers == []
        # the same transport the ACD releases through: as if it offered a second call to that agent
        await d.inbox.release([Command(CommandKind.OFFER, "c2", agent, "t/q0", q.Channel.VOICE)])
        for node in d.nodes:
            node.todo = [c for c in node.todo if c.item_id != "c2"]  # not answered: the ACD knows no c2
        assert d.ledger.double_offers == [(agent, "c1", "c2")]
        # and an offer to nobody's agent is taken by no node: misrouted
        await d.inbox.release([Command(CommandKind.OFFER, "c3", "t-nobody", "t/q0", q.Channel.VOICE)])
        assert d.ledger.misrouted(d.offers) == 1
        for node in d.nodes:
            node.todo.clear()
    finally:
        for task in d.tasks:
            task.cancel()
        await asyncio.gather(*d.tasks, return_exceptions=True)
        await d.acd.stop()
        await store.dispose()
