"""A running router brought to the stored configuration: only what changed, calls keep their place."""

from __future__ import annotations

from tests.test_queues_support import call, offers, router_with
from tvoxcc.queues import sync
from tvoxcc.queues.model import AgentConfig, Channel, QueueConfig, Strategy
from tvoxcc.queues.router import Router

SALES = QueueConfig("sales", skills={"german": 3})
SUPPORT = QueueConfig("support")
ANN = AgentConfig("ann", skills={"german": 5})
BOB = AgentConfig("bob")


def running() -> Router:
    return router_with([SALES, SUPPORT], [ANN, BOB], members={"ann": ["sales"], "bob": ["support"]})


def test_the_same_configuration_changes_nothing() -> None:
    router = running()
    stored = [(ANN, [("sales", 0, 1)]), (BOB, [("support", 0, 1)])]
    assert sync.changes(router, [SALES, SUPPORT], stored) == []


def test_every_kind_of_change_in_an_order_that_applies() -> None:
    router = running()
    backup = QueueConfig("backup")
    sales = QueueConfig("sales", skills={"german": 3}, strategy=Strategy.ROUND_ROBIN)
    cid = AgentConfig("cid", capacity={Channel.VOICE: 1, Channel.MAIL: 2})
    ann = AgentConfig("ann", skills={"french": 2}, capacity={Channel.VOICE: 1}, voice_blocks_others=False)
    stored = [
        (ann, [("sales", 0, 1), ("backup", 0, 1)]),  # a new queue, skills changed, capacity changed
        (BOB, [("support", 2, 1)]),  # a new penalty: out and in again
        (cid, [("backup", 0, 1)]),  # a new agent
    ]
    found = sync.changes(router, [sales, SUPPORT, backup], stored)
    assert found == [
        sync.UpdateQueue(sales),
        sync.AddQueue(backup),
        sync.SetCapacity("ann", {Channel.VOICE: 1}, False),
        sync.SetSkill("ann", "french", 2),
        sync.SetSkill("ann", "german", None),
        sync.AddAgent(cid),
        sync.RemoveMember("bob", "support"),
        sync.AddMember("ann", "backup", 0, 1),
        sync.AddMember("bob", "support", 2, 1),
        sync.AddMember("cid", "backup", 0, 1),
    ]
    for change in found:
        sync.apply(router, change, 1.0)
    assert sync.changes(router, [sales, SUPPORT, backup], stored) == []  # now equal
    assert router.agents["ann"].skills == {"french": 2} and router.agents["bob"].members["support"].penalty == 2


def test_an_agent_no_longer_stored_is_logged_out_and_loses_its_memberships() -> None:
    router = running()
    assert router.agents["bob"].logged_in
    found = sync.changes(router, [SALES, SUPPORT], [(ANN, [("sales", 0, 1)])])
    assert found == [sync.Logout("bob"), sync.RemoveMember("bob", "support")]
    for change in found:
        sync.apply(router, change, 1.0)
    assert router.agents["bob"].members == {} and not router.agents["bob"].logged_in
    assert sync.changes(router, [SALES, SUPPORT], [(ANN, [("sales", 0, 1)])]) == []


def test_a_removed_agent_on_a_call_is_logged_out_by_a_later_pass() -> None:
    router = running()
    router.enqueue(call("c1", "support"), 1.0)
    router.accept("c1", "bob", 2.0)
    assert sync.changes(router, [SALES, SUPPORT], [(ANN, [("sales", 0, 1)])]) == [
        sync.RemoveMember("bob", "support")  # the call goes on
    ]
    for change in sync.changes(router, [SALES, SUPPORT], [(ANN, [("sales", 0, 1)])]):
        sync.apply(router, change, 3.0)
    router.complete("c1", 4.0)
    assert sync.changes(router, [SALES, SUPPORT], [(ANN, [("sales", 0, 1)])]) == [sync.Logout("bob")]


def test_a_waiting_call_keeps_its_place_and_is_offered_to_an_agent_who_gained_the_skill() -> None:
    router = running()
    router.enqueue(call("c1", "sales"), 1.0)
    router.accept("c1", "ann", 2.0)
    router.enqueue(call("c2", "sales"), 3.0)  # ann is busy; bob is not a member of sales
    bob = AgentConfig("bob", skills={"german": 4})
    stored = [(ANN, [("sales", 0, 1)]), (bob, [("support", 0, 1), ("sales", 0, 1)])]
    outputs = [sync.apply(router, change, 10.0) for change in sync.changes(router, [SALES, SUPPORT], stored)]
    assert [o for out in outputs for o in offers(out)] == [("c2", "bob")]
    assert router.items["c2"].queued_at == 3.0  # waited since it came, not since the change
