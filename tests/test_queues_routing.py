"""Skills and relaxation, priorities, capacity across channels, wrap-up, pauses, RONA, live changes."""

from __future__ import annotations

from tests.test_queues_support import call, item, offers, router_with
from tvoxcc.queues.model import (
    AgentConfig,
    Channel,
    EndWrapup,
    EventKind,
    PauseAgent,
    QueueConfig,
    RelaxRule,
    StartWrapup,
    Strategy,
)

SALES = QueueConfig("q", skills={"sales": 5}, relax=(RelaxRule(30, 3), RelaxRule(60, 1)), wrapup_s=0)


def test_skill_levels_relax_with_waiting_time() -> None:
    router = router_with([SALES], [AgentConfig("junior", skills={"sales": 3}), AgentConfig("none")])
    assert offers(router.enqueue(call("c1"), 0)) == []
    assert offers(router.tick(29.9)) == []
    out = router.tick(30)
    assert offers(out) == [("c1", "junior")]
    assert [e.value for e in out.events if e.kind is EventKind.ITEM_RELAXED] == [1]
    # An agent without the skill at all qualifies once the last rule (level 1) is in force… but not level 0.
    assert offers(router.enqueue(call("c2"), 31)) == []
    assert offers(router.tick(91)) == []


def test_a_qualified_agent_is_preferred_to_waiting_for_relaxation() -> None:
    router = router_with(
        [SALES], [AgentConfig("junior", skills={"sales": 3}), AgentConfig("senior", skills={"sales": 7})]
    )
    assert offers(router.enqueue(call("c1"), 0)) == [("c1", "senior")]
    router.accept("c1", "senior", 1)
    assert offers(router.enqueue(call("c2"), 1)) == []
    assert offers(router.tick(31)) == [("c2", "junior")]


def test_vip_jumps_the_line_and_equal_priorities_stay_fifo() -> None:
    queue = QueueConfig("q", wrapup_s=0, priority=1, service_priority=2, channel_priority={Channel.CHAT: 5})
    router = router_with([queue], ["a"], login=False)
    router.enqueue(call("first"), 1)
    router.enqueue(call("second"), 2)
    router.enqueue(call("vip", contact_priority=10), 3)
    router.enqueue(call("third"), 4)
    assert router.estimate("vip").position == 1 and router.estimate("third").position == 4
    out = router.login("a", 5)
    assert offers(out) == [("vip", "a")]
    for t, (done, following) in enumerate((("vip", "first"), ("first", "second"), ("second", "third"))):
        router.accept(done, "a", 6 + 2 * t)
        assert offers(router.complete(done, 7 + 2 * t)) == [(following, "a")]


def test_channel_priority_combines_into_one_effective_priority() -> None:
    queue = QueueConfig("q", wrapup_s=0, channel_priority={Channel.CHAT: 5})
    agent = AgentConfig("a", capacity={Channel.CHAT: 1, Channel.MAIL: 1}, voice_blocks_others=False)
    router = router_with([queue], [agent], login=False)
    router.enqueue(item("mail1", "q", Channel.MAIL, priority=4), 1)
    router.enqueue(item("chat1", "q", Channel.CHAT), 2)
    router.enqueue(item("mail2", "q", Channel.MAIL, priority=6), 3)
    # One agent, one slot per channel: chat1 (5) on chat, mail2 (6) beats mail1 (4) on mail.
    assert offers(router.login("a", 4)) == [("mail2", "a"), ("chat1", "a")]


def test_a_voice_call_blocks_mail_while_it_lasts() -> None:
    agent = AgentConfig("a", capacity={Channel.VOICE: 1, Channel.MAIL: 5})
    router = router_with([QueueConfig("q", wrapup_s=0)], [agent])
    assert offers(router.enqueue(call("v1"), 1)) == [("v1", "a")]
    assert offers(router.enqueue(item("m1", "q", Channel.MAIL), 2)) == []  # ringing voice already blocks
    router.accept("v1", "a", 3)
    assert offers(router.enqueue(item("m2", "q", Channel.MAIL), 4)) == []
    assert offers(router.complete("v1", 60)) == [("m1", "a"), ("m2", "a")]


def test_without_voice_blocking_mail_flows_during_a_call() -> None:
    agent = AgentConfig("a", capacity={Channel.VOICE: 1, Channel.MAIL: 5}, voice_blocks_others=False)
    router = router_with([QueueConfig("q", wrapup_s=0)], [agent])
    router.enqueue(call("v1"), 1)
    router.accept("v1", "a", 2)
    assert offers(router.enqueue(item("m1", "q", Channel.MAIL), 3)) == [("m1", "a")]


def test_three_chats_at_once_and_the_fourth_waits() -> None:
    agent = AgentConfig("a", capacity={Channel.CHAT: 3})
    router = router_with([QueueConfig("q", wrapup_s=0)], [agent])
    for n in range(1, 5):
        out = router.enqueue(item(f"chat{n}", "q", Channel.CHAT), n)
        assert offers(out) == ([(f"chat{n}", "a")] if n <= 3 else [])
        if n <= 3:
            router.accept(f"chat{n}", "a", n)
    assert router.agent_status("a") == "busy"
    assert offers(router.complete("chat2", 10)) == [("chat4", "a")]


def test_wrap_up_holds_the_next_call_until_the_timer_ends() -> None:
    router = router_with([QueueConfig("q", wrapup_s=15)], ["a"])
    router.enqueue(call("c1"), 0)
    router.accept("c1", "a", 1)
    router.enqueue(call("c2"), 5)
    out = router.complete("c1", 60)
    assert StartWrapup("a", 75) in out.commands and offers(out) == []
    assert router.agent_status("a") == "wrap-up"
    assert offers(router.tick(74.9)) == []
    out = router.tick(75)
    assert EndWrapup("a") in out.commands and offers(out) == [("c2", "a")]


def test_wrap_up_can_be_ended_early() -> None:
    router = router_with([QueueConfig("q", wrapup_s=60)], ["a"])
    router.enqueue(call("c1"), 0)
    router.accept("c1", "a", 1)
    router.complete("c1", 2)
    router.enqueue(call("c2"), 3)
    assert offers(router.end_wrapup("a", 4)) == [("c2", "a")]
    assert offers(router.tick(62)) == []  # the old wrap-up timer is stale


def test_pause_with_activity_code_stops_offers_until_unpaused() -> None:
    router = router_with([QueueConfig("q")], ["a"])
    out = router.pause("a", 10, "LUNCH")
    assert out.queue_log == ["10|NONE|q|a|PAUSE|LUNCH"]
    assert [(e.kind, e.detail) for e in out.events] == [
        (EventKind.AGENT_PAUSED, "LUNCH"),
        (EventKind.AGENT_STATUS, "paused"),
    ]
    assert offers(router.enqueue(call("c1"), 11)) == []
    out = router.unpause("a", 20)
    assert out.queue_log[0] == "20|NONE|q|a|UNPAUSE|" and offers(out) == [("c1", "a")]


def test_ring_no_answer_tries_the_next_agent_and_pauses_the_first() -> None:
    router = router_with([QueueConfig("q", ring_timeout_s=15)], ["a", "b"])
    assert offers(router.enqueue(call("c1"), 0)) == [("c1", "a")]
    out = router.tick(15)
    assert PauseAgent("a", "RONA") in out.commands
    assert offers(out) == [("c1", "b")]
    assert "15|c1|q|a|RINGNOANSWER|15000" in out.queue_log and "15|NONE|q|a|PAUSE|RONA" in out.queue_log
    assert router.agent_status("a") == "paused"


def test_ring_no_answer_without_pause_rings_the_same_agent_only_when_nobody_else_is_free() -> None:
    router = router_with([QueueConfig("q", rona_pause=False)], ["a", "b"])
    router.enqueue(call("c1"), 0)
    out = router.ring_no_answer("c1", "a", 3)
    assert offers(out) == [("c1", "b")]
    assert not any(isinstance(c, PauseAgent) for c in out.commands)
    assert offers(router.ring_no_answer("c1", "b", 5)) == [("c1", "a")]


def test_live_membership_and_skill_changes_need_no_reload() -> None:
    router = router_with([SALES, QueueConfig("other", wrapup_s=0)], ["a"], members={"a": ["other"]})
    router.enqueue(call("c1", "q"), 0)
    out = router.add_member("a", "q", 1)
    assert out.queue_log == ["1|NONE|q|a|ADDMEMBER|"] and offers(out) == []  # no sales skill yet
    assert offers(router.set_skill("a", "sales", 6, 2)) == [("c1", "a")]
    router.accept("c1", "a", 3)
    router.complete("c1", 4)
    router.set_skill("a", "sales", None, 5)
    assert offers(router.enqueue(call("c2", "q"), 6)) == []
    router.set_skill("a", "sales", 9, 7)
    router.accept("c2", "a", 7)
    router.complete("c2", 8)
    assert router.remove_member("a", "q", 9).queue_log == ["9|NONE|q|a|REMOVEMEMBER|"]
    assert offers(router.enqueue(call("c3", "q"), 10)) == []


def test_capacity_change_is_live() -> None:
    router = router_with([QueueConfig("q")], ["a"])
    router.enqueue(item("chat1", "q", Channel.CHAT), 1)
    assert offers(router.set_capacity("a", {Channel.VOICE: 1, Channel.CHAT: 2}, 2)) == [("chat1", "a")]


def test_a_freed_agent_takes_the_best_item_its_tier_allows_across_stages() -> None:
    queue = QueueConfig("q", skills={"sales": 5}, relax=(RelaxRule(10, 3),), wrapup_s=0)
    senior, junior = AgentConfig("senior", skills={"sales": 7}), AgentConfig("junior", skills={"sales": 3})
    router = router_with([queue], [senior, junior])
    router.pause("senior", 0, "x")
    router.pause("junior", 0, "x")
    router.enqueue(call("old"), 0)
    router.tick(10)  # old reaches stage 1: the junior qualifies for it now
    router.enqueue(call("vip", contact_priority=9), 15)  # stage 0: seniors only, but first in order
    assert offers(router.unpause("junior", 16)) == [("old", "junior")]
    router.accept("old", "junior", 16)
    router.enqueue(call("next"), 17)
    router.tick(27)  # next relaxes too; vip (relaxed at 25) comes first for anyone now
    assert offers(router.unpause("senior", 28)) == [("vip", "senior")]


def test_same_priority_and_arrival_time_keep_the_order_of_arrival() -> None:
    router = router_with([QueueConfig("q", wrapup_s=0)], ["a"], login=False)
    for name in ("x", "y", "z"):
        router.enqueue(call(name), 5)
    assert [router.estimate(n).position for n in ("x", "y", "z")] == [1, 2, 3]
    assert offers(router.login("a", 6)) == [("x", "a")]
    router.accept("x", "a", 6)
    assert offers(router.complete("x", 7)) == [("y", "a")]


def test_wrap_up_follows_the_queue_of_the_completed_item() -> None:
    router = router_with([QueueConfig("short", wrapup_s=5), QueueConfig("long", wrapup_s=30)], ["a"])
    router.enqueue(call("c1", "long"), 0)
    router.accept("c1", "a", 1)
    router.enqueue(call("c2", "short"), 2)
    assert StartWrapup("a", 40) in router.complete("c1", 10).commands
    assert offers(router.tick(39)) == []
    assert offers(router.tick(40)) == [("c2", "a")]
    router.accept("c2", "a", 40)
    (started,) = [c for c in router.complete("c2", 50).commands if isinstance(c, StartWrapup)]
    assert (started.until, started.until - started.at) == (55, 5)  # its length, stored for Insight's AHT


def test_live_queue_reconfiguration_retiers_members_and_restages_waiting_items() -> None:
    three_stages = QueueConfig("q", skills={"s": 5}, relax=(RelaxRule(30, 3), RelaxRule(60, 1)), wrapup_s=0)
    agents = [
        AgentConfig("hi", skills={"s": 9}),
        AgentConfig("mid", skills={"s": 3}),
        AgentConfig("lo", skills={"s": 1}),
    ]
    router = router_with([three_stages], agents)
    for agent_id in ("hi", "mid", "lo"):
        router.pause(agent_id, 0, "x")
    router.enqueue(call("c1"), 0)
    router.unpause("mid", 1)
    # Two stages now, and level 3 is enough from the start: mid (tier 1 before) takes c1 at once.
    out = router.update_queue(QueueConfig("q", skills={"s": 3}, relax=(RelaxRule(30, 1),), wrapup_s=0), 2)
    assert offers(out) == [("c1", "mid")]
    router.accept("c1", "mid", 2)
    router.unpause("lo", 3)
    router.enqueue(call("c2"), 4)
    assert offers(router.tick(33.9)) == []
    assert offers(router.tick(34)) == [("c2", "lo")]  # the new relax rule (level 1 after 30 s) applies
    assert router.items["c2"].stage == 1


def test_live_strategy_change_rebuilds_the_agent_indexes() -> None:
    router = router_with([QueueConfig("q", wrapup_s=0)], ["a", "b", "c"])
    router.update_queue(QueueConfig("q", strategy=Strategy.RING_ALL, wrapup_s=0), 1)
    assert sorted(offers(router.enqueue(call("c1"), 2))) == [("c1", "a"), ("c1", "b"), ("c1", "c")]
