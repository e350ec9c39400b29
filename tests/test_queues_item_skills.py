"""An item's own skills (an IVR's `set` node): merged with its queue's, relaxed by the queue's rules."""

from __future__ import annotations

from tests.test_queues_support import call, offers, router_with
from tvoxcc.queues.model import AgentConfig, QueueConfig, RelaxRule, Strategy
from tvoxcc.queues.skills import item_levels

ENGLISH_3, ENGLISH_5 = AgentConfig("en3", skills={"english": 3}), AgentConfig("en5", skills={"english": 5})


def test_an_item_asking_english_5_skips_the_longer_idle_english_3_agent() -> None:
    router = router_with([QueueConfig("q", wrapup_s=0)], [ENGLISH_3, ENGLISH_5])  # en3 logged in first
    assert offers(router.enqueue(call("plain"), 1)) == [("plain", "en3")]  # longest idle, no skills asked
    router.ring_no_answer("plain", "en3", 2)
    router.abandon("plain", 2)
    router.unpause("en3", 3)
    assert offers(router.enqueue(call("c1", skills={"english": 5}), 4)) == [("c1", "en5")]
    assert offers(router.enqueue(call("c2", skills={"english": 5}), 5)) == []  # en3 is free but not enough
    router.accept("c1", "en5", 6)
    assert offers(router.complete("c1", 7)) == [("c2", "en5")]


def test_item_levels_relax_by_the_queue_rules() -> None:
    queue = QueueConfig("q", relax=(RelaxRule(30, 3),), wrapup_s=0)
    router = router_with([queue], [ENGLISH_3])
    assert offers(router.enqueue(call("c1", skills={"english": 5}), 0)) == []
    assert offers(router.tick(29.9)) == []
    assert offers(router.tick(30)) == [("c1", "en3")]


def test_an_item_adds_to_its_queue_levels_and_never_lowers_them() -> None:
    queue = QueueConfig("q", skills={"sales": 5}, wrapup_s=0)
    assert item_levels(queue.skills, {"sales": 2, "english": 4}) == {"sales": 5, "english": 4}
    junior = AgentConfig("junior", skills={"sales": 3, "english": 9})
    senior = AgentConfig("senior", skills={"sales": 7})
    router = router_with([queue], [junior, senior])
    assert offers(router.enqueue(call("c1", skills={"sales": 2}), 1)) == [("c1", "senior")]  # not junior
    assert offers(router.enqueue(call("c2", skills={"english": 4}), 2)) == []  # senior lacks english, junior sales
    assert router.estimate("c2").staffed_servers == 0
    router.set_skill("senior", "english", 4, 3)
    router.accept("c1", "senior", 4)
    assert offers(router.complete("c1", 5)) == [("c2", "senior")]


def test_a_freed_agent_passes_over_items_it_cannot_take_for_the_next_it_can() -> None:
    router = router_with([QueueConfig("q", wrapup_s=0)], [ENGLISH_3], login=False)
    router.enqueue(call("needs-5", skills={"english": 5}), 1)
    router.enqueue(call("needs-2", skills={"english": 2}), 2)
    router.enqueue(call("plain"), 3)
    assert router.estimate("needs-5").position == 1 and router.estimate("plain").position == 3
    assert offers(router.login("en3", 4)) == [("needs-2", "en3")]
    router.accept("needs-2", "en3", 5)
    assert offers(router.complete("needs-2", 6)) == [("plain", "en3")]
    router.accept("plain", "en3", 7)
    assert offers(router.complete("plain", 8)) == []
    assert offers(router.set_skill("en3", "english", 5, 9)) == [("needs-5", "en3")]  # live, no reload


def test_ring_all_rings_only_the_agents_with_the_item_levels() -> None:
    router = router_with([QueueConfig("q", strategy=Strategy.RING_ALL, wrapup_s=0)], [ENGLISH_3, ENGLISH_5, "none"])
    assert offers(router.enqueue(call("c1", skills={"english": 4}), 1)) == [("c1", "en5")]
    assert sorted(offers(router.enqueue(call("c2", skills={"english": 1}), 2))) == [("c2", "en3")]
