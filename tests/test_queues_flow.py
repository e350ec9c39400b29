"""Overflow, max wait, callbacks, estimated wait time and the queue_log lines of a whole call."""

from __future__ import annotations

import pytest

from tests.test_queues_support import call, offers, router_with
from tvoxcc.queues.model import (
    AgentConfig,
    Channel,
    EventKind,
    ExitQueue,
    Overflow,
    OverflowAction,
    OverflowRule,
    OverflowWhen,
    PauseAgent,
    PlaceCallback,
    QueueConfig,
    RouterError,
    Strategy,
)

W = OverflowWhen
A = OverflowAction


def test_overflow_after_a_wait_moves_the_item_to_another_queue() -> None:
    sales = QueueConfig("sales", overflow=(OverflowRule(W.WAIT, A.QUEUE, "backup", after_s=60),))
    router = router_with([sales, QueueConfig("backup")], ["a", "b"], members={"a": ["sales"], "b": ["backup"]})
    router.enqueue(call("c1", "sales"), 0)
    router.accept("c1", "a", 1)
    router.enqueue(call("c2", "sales"), 10)
    router.pause("b", 11, "BREAK")
    out = router.tick(70)
    assert Overflow("c2", "sales", A.QUEUE, "backup") in out.commands
    assert out.queue_log == ["70|c2|sales|NONE|EXITWITHTIMEOUT|1|1|60", "70|c2|backup|NONE|ENTERQUEUE|||1"]
    assert offers(router.unpause("b", 80)) == [("c2", "b")]


def test_overflow_on_queue_length_turns_new_items_away() -> None:
    sales = QueueConfig("sales", overflow=(OverflowRule(W.LENGTH, A.VOICEMAIL, length=2),))
    router = router_with([sales], ["a"])
    router.pause("a", 0, "x")
    router.enqueue(call("c1", "sales"), 1)
    router.enqueue(call("c2", "sales"), 2)
    out = router.enqueue(call("c3", "sales"), 3)
    assert out.commands == [Overflow("c3", "sales", A.VOICEMAIL, None)]
    assert out.queue_log == []  # never entered
    assert "c3" not in router.items


def test_overflow_when_no_agent_is_logged_in() -> None:
    sales = QueueConfig("sales", overflow=(OverflowRule(W.NO_AGENTS, A.IVR, "closed-menu"),))
    router = router_with([sales], ["a"], login=False)
    assert router.enqueue(call("c1", "sales"), 1).commands == [Overflow("c1", "sales", A.IVR, "closed-menu")]
    router.login("a", 2)
    router.pause("a", 2, "x")
    router.enqueue(call("c2", "sales"), 3)
    out = router.logout("a", 9)  # the last member leaves: waiting items follow the rule (leavewhenempty)
    assert Overflow("c2", "sales", A.IVR, "closed-menu") in out.commands
    assert "9|c2|sales|NONE|EXITEMPTY|1|1|6" in out.queue_log


def test_max_wait_exits_with_timeout() -> None:
    router = router_with([QueueConfig("q", max_wait_s=120)], ["a"])
    router.pause("a", 0, "x")
    router.enqueue(call("c1", caller_id="0611"), 0)
    out = router.tick(120)
    assert out.commands == [ExitQueue("c1", "q", "timeout")]
    assert out.queue_log == ["120|c1|q|NONE|EXITWITHTIMEOUT|1|1|120"]
    assert [e.kind for e in out.events] == [EventKind.ITEM_TIMED_OUT]


def test_max_wait_does_not_cut_a_ringing_call() -> None:
    router = router_with([QueueConfig("q", max_wait_s=20, ring_timeout_s=15, rona_pause=True)], ["a"])
    router.enqueue(call("c1"), 10)  # rings a until 25
    assert router.tick(21).commands == []
    router.accept("c1", "a", 22)
    assert router.tick(40).commands == []


def test_callback_keeps_the_place_and_is_placed_when_the_turn_comes() -> None:
    router = router_with([QueueConfig("q", wrapup_s=0)], ["a"])
    router.enqueue(call("busy"), 0)
    router.accept("busy", "a", 0)
    router.enqueue(call("first", caller_id="0611"), 1)
    router.enqueue(call("second"), 2)
    out = router.request_callback("first", 3)
    assert [e.kind for e in out.events] == [EventKind.CALLBACK_REQUESTED]
    assert router.estimate("first").position == 1 and router.estimate("second").position == 1
    out = router.complete("busy", 50)
    assert out.commands[-1] == PlaceCallback("first", "a", "q", "0611")  # before "second", who came later
    assert router.agent_status("a") == "reserved"
    out = router.callback_answered("first", 60)
    assert offers(out) == [("first", "a")]
    out = router.accept("first", "a", 62)
    assert out.queue_log == ["62|first|q|a|CONNECT|61||2"]


def test_a_failed_callback_is_retried_at_the_same_place() -> None:
    router = router_with([QueueConfig("q", wrapup_s=0)], ["a"])
    router.pause("a", 0, "x")
    router.enqueue(call("c1", callback_number="0622"), 0)
    router.request_callback("c1", 1)
    assert isinstance(router.unpause("a", 2).commands[-1], PlaceCallback)
    out = router.callback_failed("c1", 30)
    assert offers(out) == [] and router.agent_status("a") == "available"
    assert router.tick(329).commands == []
    assert router.tick(330).commands == [PlaceCallback("c1", "a", "q", "0622")]
    router.callback_failed("c1", 340)
    router.tick(640)
    assert router.callback_failed("c1", 650).commands[0] == ExitQueue("c1", "q", "callback-failed")
    assert "c1" not in router.items


def test_a_cancelled_callback_leaves_the_line_and_frees_its_reserved_agent() -> None:
    router = router_with([QueueConfig("q", wrapup_s=0)], ["a"])
    router.pause("a", 0, "x")
    router.enqueue(call("c1", callback_number="0622"), 0)
    router.enqueue(call("c2", callback_number="0623"), 0)
    router.request_callback("c1", 1)
    router.request_callback("c2", 1)
    out = router.abandon("c2", 2)  # still pending: it just leaves
    assert [e.kind for e in out.events] == [EventKind.ITEM_ABANDONED] and "c2" not in router.items
    assert isinstance(router.unpause("a", 3).commands[-1], PlaceCallback)
    assert router.agent_status("a") == "reserved"
    out = router.abandon("c1", 4)  # cancelled while being dialled: the reserved agent is free again
    assert "c1" not in router.items and router.agent_status("a") == "available"
    assert out.queue_log == ["4|c1|q|NONE|ABANDON|1|1|4"]
    assert offers(router.enqueue(call("c3"), 5)) == [("c3", "a")]  # and takes the next call at once


def test_overflow_to_callback_keeps_the_place() -> None:
    q = QueueConfig("q", overflow=(OverflowRule(W.WAIT, A.CALLBACK, after_s=30),), max_wait_s=100)
    router = router_with([q], ["a"])
    router.pause("a", 0, "x")
    router.enqueue(call("c1", caller_id="0633"), 0)
    out = router.tick(30)
    assert out.commands == [Overflow("c1", "q", A.CALLBACK, None)]
    assert router.items["c1"].channel is Channel.CALLBACK
    assert router.tick(100).commands == []  # a callback is not on the line: no max wait
    assert router.unpause("a", 101).commands[-1] == PlaceCallback("c1", "a", "q", "0633")


def test_callback_needs_a_number() -> None:
    router = router_with([QueueConfig("q")], [], login=False)
    router.enqueue(call("c1"), 0)
    with pytest.raises(RouterError, match="no number"):
        router.request_callback("c1", 1)


def test_estimated_wait_uses_the_moving_average_handle_time_staffing_and_position() -> None:
    router = router_with([QueueConfig("q", wrapup_s=10)], ["a", "b"], login=False)
    router.login("a", 0)
    router.enqueue(call("c1"), 0)
    router.accept("c1", "a", 0)
    router.complete("c1", 110)  # handle time 110 + 10 wrap-up = 120: the first sample replaces the guess
    router.pause("a", 111, "x")
    router.enqueue(call("c2"), 112)
    router.enqueue(call("c3"), 113)
    assert router.estimate("c3").ewt_s is None  # nobody staffed
    router.login("b", 114)
    router.accept("c2", "b", 115)
    router.unpause("a", 121)  # its wrap-up ended at 120
    router.accept("c3", "a", 121)
    router.enqueue(call("c4"), 122)
    router.enqueue(call("c5"), 123)
    estimate = router.estimate("c5")
    assert (estimate.position, estimate.staffed_servers, estimate.handle_time_s, estimate.ewt_s) == (2, 2, 120, 120)
    router.complete("c2", 175)  # 60 + 10 = 70: 120 + 0.2 * (70 - 120) = 110
    assert router.estimate("c5").handle_time_s == pytest.approx(110)


def test_queue_log_of_a_whole_call_matches_asterisk() -> None:
    router = router_with([QueueConfig("support", wrapup_s=0)], [], login=False)
    router.add_agent(AgentConfig("alice"), 1000)
    add = router.add_member("alice", "support", 1000)
    login = router.login("alice", 1001, interface="PJSIP/201")
    enter = router.enqueue(call("1700.1", "support", caller_id="+390612345"), 1002)
    connect = router.accept("1700.1", "alice", 1005.7, bridged_id="1700.2")
    done = router.complete("1700.1", 1065, by_caller=True)
    router.enqueue(call("1700.3", "support"), 1070)
    rona = router.ring_no_answer("1700.3", "alice", 1085)
    abandon = router.abandon("1700.3", 1090)
    logoff = router.logout("alice", 1100)
    assert [line for out in (add, login, enter, connect, done, rona, abandon, logoff) for line in out.queue_log] == [
        "1000|NONE|support|alice|ADDMEMBER|",
        "1001|NONE|NONE|alice|AGENTLOGIN|PJSIP/201",
        "1002|1700.1|support|NONE|ENTERQUEUE||+390612345|1",
        "1005|1700.1|support|alice|CONNECT|3|1700.2|3",
        "1065|1700.1|support|alice|COMPLETECALLER|3|59|1",
        "1085|1700.3|support|alice|RINGNOANSWER|15000",
        "1085|NONE|support|alice|PAUSE|RONA",
        "1090|1700.3|support|NONE|ABANDON|1|1|20",
        "1100|NONE|NONE|alice|AGENTLOGOFF|PJSIP/201|99",
    ]


def test_every_state_change_emits_an_event() -> None:
    router = router_with([QueueConfig("q", wrapup_s=5)], ["a"])
    kinds = [e.kind for e in router.enqueue(call("c1"), 0).events]
    kinds += [e.kind for e in router.accept("c1", "a", 1).events]
    kinds += [e.kind for e in router.complete("c1", 2).events]
    kinds += [e.kind for e in router.tick(7).events]
    assert kinds == [
        EventKind.ITEM_QUEUED,
        EventKind.ITEM_OFFERED,
        EventKind.AGENT_STATUS,  # reserved
        EventKind.ITEM_CONNECTED,
        EventKind.AGENT_STATUS,  # busy
        EventKind.ITEM_COMPLETED,
        EventKind.AGENT_STATUS,  # wrap-up
        EventKind.AGENT_STATUS,  # available
    ]


def test_overflow_between_queues_stops_after_the_hop_limit() -> None:
    ping = QueueConfig("ping", overflow=(OverflowRule(W.NO_AGENTS, A.QUEUE, "pong"),))
    pong = QueueConfig("pong", overflow=(OverflowRule(W.NO_AGENTS, A.QUEUE, "ping"),))
    router = router_with([ping, pong], [], login=False)
    router.max_overflow_hops = 3
    out = router.enqueue(call("c1", "ping"), 0)
    assert [c.from_queue for c in out.commands if isinstance(c, Overflow)] == ["ping", "pong", "ping"]
    assert out.queue_log == ["0|c1|pong|NONE|ENTERQUEUE|||1"]  # the fourth queue entered keeps it
    assert router.items["c1"].queue == "pong"


def test_ring_all_nobody_answers_every_ringing_agent_is_paused_and_the_item_waits() -> None:
    queue = QueueConfig("q", strategy=Strategy.RING_ALL, ring_timeout_s=10, rona_pause_code="NOANSWER")
    router = router_with([queue], ["a", "b"])
    router.enqueue(call("c1"), 0)
    out = router.tick(10)
    assert sorted(c.agent_id for c in out.commands if isinstance(c, PauseAgent)) == ["a", "b"]
    assert {c.reason for c in out.commands if isinstance(c, PauseAgent)} == {"NOANSWER"}
    assert [e.kind for e in out.events].count(EventKind.ITEM_REQUEUED) == 1
    assert router.items["c1"].status == "waiting" and offers(out) == []
    assert offers(router.unpause("b", 20)) == [("c1", "b")]


def test_an_unanswered_callback_is_requeued_as_a_call_at_its_place() -> None:
    router = router_with([QueueConfig("q", wrapup_s=0)], ["a", "b"])
    router.pause("b", 0, "x")
    router.enqueue(call("busy"), 0)
    router.accept("busy", "a", 0)
    router.enqueue(call("first", caller_id="0611"), 1)
    router.request_callback("first", 2)
    router.enqueue(call("second"), 3)
    router.complete("busy", 10)  # a is reserved while "first" is called back
    assert offers(router.callback_answered("first", 20)) == [("first", "a")]
    out = router.ring_no_answer("first", "a", 25)
    assert router.items["first"].channel is Channel.VOICE  # the customer is on the line now
    assert EventKind.ITEM_REQUEUED in [e.kind for e in out.events]
    assert router.estimate("first").position == 1 and router.estimate("second").position == 2
    assert offers(router.unpause("b", 26)) == [("first", "b")]


def test_calls_and_callbacks_share_one_line_in_arrival_order() -> None:
    router = router_with([QueueConfig("q", wrapup_s=0)], ["a"])
    router.enqueue(call("busy"), 0)
    router.accept("busy", "a", 0)
    router.enqueue(call("older"), 1)
    router.enqueue(call("newer", caller_id="0644"), 2)
    router.request_callback("newer", 3)
    router.enqueue(call("vip", contact_priority=5, caller_id="0655"), 4)
    router.request_callback("vip", 5)
    out = router.complete("busy", 10)
    assert out.commands[-1] == PlaceCallback("vip", "a", "q", "0655")  # priority first, callback or not
    router.callback_answered("vip", 11)
    router.accept("vip", "a", 12)
    assert offers(router.complete("vip", 20)) == [("older", "a")]  # then arrival: the call before the callback
    router.accept("older", "a", 21)
    assert router.complete("older", 30).commands[-1] == PlaceCallback("newer", "a", "q", "0644")


def test_items_taken_back_after_a_restart_keep_their_place_and_their_wait() -> None:
    """A restarted service re-enqueues waiting calls in any order: their first arrival decides the line,
    and their time in the queue counts from before the restart (hold time, max wait)."""
    router = router_with([QueueConfig("q", max_wait_s=120)], ["a"])
    router.pause("a", 0, "x")
    router.enqueue(call("new", caller_id="0633"), 100)  # arrived while the others were being taken back
    router.enqueue(call("second", arrived_at=20.0, queued_at=20.0), 100)
    router.enqueue(call("first", arrived_at=10.0, queued_at=15.0), 100)  # came from another queue at 15
    assert [router.estimate(i).position for i in ("first", "second", "new")] == [1, 2, 3]
    out = router.unpause("a", 101)
    assert offers(out) == [("first", "a")]
    out = router.accept("first", "a", 102)
    assert "102|first|q|a|CONNECT|87||1" in out.queue_log  # held since 15, not since 100
    assert router.tick(140).commands == [ExitQueue("second", "q", "timeout")]  # 120 s after 20
