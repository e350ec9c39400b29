"""Each routing strategy picks the agent it promises to."""

from __future__ import annotations

import random
from collections import Counter

from tests.test_queues_support import call, offers, router_with
from tvoxcc.queues.model import AgentConfig, CancelOffer, QueueConfig, Strategy
from tvoxcc.queues.router import Router


def handle(router: Router, item_id: str, agent_id: str, start: float, end: float) -> None:
    """Offer-accept-complete one call, with no wrap-up in the way."""
    out = router.enqueue(call(item_id), start)
    assert offers(out) == [(item_id, agent_id)]
    router.accept(item_id, agent_id, start)
    router.complete(item_id, end)


def test_longest_idle_picks_the_agent_idle_the_longest() -> None:
    router = router_with([QueueConfig("q", wrapup_s=0)], ["a", "b", "c"])
    # Ties at login break on join order: a, then b, then c; they finish at 30, 10, 20.
    for n, agent_id in enumerate("abc", start=1):
        assert offers(router.enqueue(call(f"c{n}"), n)) == [(f"c{n}", agent_id)]
        router.accept(f"c{n}", agent_id, n)
    router.complete("c2", 10)
    router.complete("c3", 20)
    router.complete("c1", 30)
    assert offers(router.enqueue(call("c4"), 40)) == [("c4", "b")]
    assert offers(router.enqueue(call("c5"), 41)) == [("c5", "c")]
    assert offers(router.enqueue(call("c6"), 42)) == [("c6", "a")]


def test_fewest_handled_picks_the_agent_with_fewest_calls_in_the_queue() -> None:
    router = router_with([QueueConfig("q", strategy=Strategy.FEWEST_HANDLED, wrapup_s=0)], ["a", "b"])
    handle(router, "c1", "a", 1, 2)
    handle(router, "c2", "b", 3, 4)
    handle(router, "c3", "a", 5, 6)  # a and b both handled 1: a has been idle longer (since 2)
    assert offers(router.enqueue(call("c4"), 7)) == [("c4", "b")]


def test_round_robin_remembers_where_it_stopped() -> None:
    router = router_with([QueueConfig("q", strategy=Strategy.ROUND_ROBIN, wrapup_s=0)], ["a", "b", "c"])
    handle(router, "c1", "a", 1, 2)
    handle(router, "c2", "b", 3, 4)
    router.pause("c", 5, "lunch")
    handle(router, "c3", "a", 6, 7)  # c is paused: wrap round to a
    router.unpause("c", 8)
    handle(router, "c4", "b", 9, 10)
    handle(router, "c5", "c", 11, 12)
    handle(router, "c6", "a", 13, 14)


def test_linear_rings_in_penalty_order() -> None:
    router = router_with([QueueConfig("q", strategy=Strategy.LINEAR, wrapup_s=0)], [], login=False)
    for agent_id, penalty in (("a", 5), ("b", 0), ("c", 1)):
        router.add_agent(AgentConfig(agent_id), 0)
        router.add_member(agent_id, "q", 0, penalty=penalty)
        router.login(agent_id, 0)
    assert offers(router.enqueue(call("c1"), 1)) == [("c1", "b")]
    assert offers(router.enqueue(call("c2"), 1)) == [("c2", "c")]
    assert offers(router.enqueue(call("c3"), 1)) == [("c3", "a")]


def test_ring_all_offers_everyone_and_the_first_answer_wins() -> None:
    router = router_with([QueueConfig("q", strategy=Strategy.RING_ALL, wrapup_s=0)], ["a", "b", "c"])
    out = router.enqueue(call("c1"), 1)
    assert sorted(offers(out)) == [("c1", "a"), ("c1", "b"), ("c1", "c")]
    out = router.accept("c1", "b", 3)
    assert sorted((c.agent_id, c.reason) for c in out.commands if isinstance(c, CancelOffer)) == [
        ("a", "answered-elsewhere"),
        ("c", "answered-elsewhere"),
    ]
    assert router.agent_status("a") == "available" and router.agent_status("b") == "busy"
    assert sorted(offers(router.enqueue(call("c2"), 4))) == [("c2", "a"), ("c2", "c")]


def test_weighted_random_follows_the_weights_and_the_injected_seed() -> None:
    def picks(seed: int) -> Counter[str]:
        router = router_with([QueueConfig("q", strategy=Strategy.WEIGHTED_RANDOM, wrapup_s=0)], [], login=False)
        router.rng = random.Random(seed)
        for agent_id, weight in (("light", 1), ("heavy", 3)):
            router.add_agent(AgentConfig(agent_id), 0)
            router.add_member(agent_id, "q", 0, weight=weight)
            router.login(agent_id, 0)
        counts: Counter[str] = Counter()
        for n in range(4000):
            ((_, agent_id),) = offers(router.enqueue(call(f"c{n}"), n))
            counts[agent_id] += 1
            router.accept(f"c{n}", agent_id, n)
            router.complete(f"c{n}", n)
        return counts

    counts = picks(7)
    assert counts == picks(7)  # same seed, same draws
    assert 0.72 < counts["heavy"] / 4000 < 0.78
