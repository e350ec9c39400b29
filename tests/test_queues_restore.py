"""A router rebuilt from its views (Router.restore) keeps every place, state and item in hand, offers nothing
twice, and from then on decides like the reference router restored from the reference's own views."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tests.test_queues_property import CountingRandom, build, check_invariants, random_call, run
from tvoxcc.queues.engine.restore import RESTORED
from tvoxcc.queues.model import (
    AgentConfig,
    CancelOffer,
    Channel,
    ItemStatus,
    Offer,
    Outputs,
    QueueConfig,
    RouterError,
    Strategy,
    WorkItem,
)
from tvoxcc.queues.reference import LinearScanRouter
from tvoxcc.queues.router import Router
from tvoxcc.queues.views import RouterView


def settled(view: RouterView) -> dict[str, object]:
    """What a restore must keep: waiting order per queue, agents' states, items in hand, queues' memory."""
    in_flight = {i.item_id for i in view.items.values() if i.status in (ItemStatus.OFFERED, ItemStatus.DIALING)}
    return {
        "order": {q: view.waiting_order(q) for q in view.queues},
        "agents": {
            a.agent_id: (a.logged_in, a.pause_code, a.wrapup_until, a.login_at, a.idle_since, a.members, a.connected)
            for a in view.agents.values()
        },
        "items": {
            i.item_id: (i.queue, i.channel, i.order_key, i.queued_at, i.status is ItemStatus.CONNECTED and i.agent_id)
            for i in view.items.values()
        },
        "in_flight": in_flight,
    }


@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("seed", [11, 12])
def test_restores_at_random_points_keep_state_and_agree_with_the_reference(strategy: Strategy, seed: int) -> None:
    rng = random.Random(seed)
    fast: Router = Router(CountingRandom(seed))
    slow: Router = LinearScanRouter(CountingRandom(seed))
    build(fast, strategy, random.Random(seed))
    build(slow, strategy, random.Random(seed))
    for agent_id in fast.agent_ids():
        fast.login(agent_id, 0)
        slow.login(agent_id, 0)
    now, connects, restores, cancelled = 0.0, Counter[str](), 0, 0
    for n in range(3000):
        now += rng.choice([0, 0, 0.5, 1, 2, 5, 11])
        if rng.random() < 0.01:
            view = fast.view()
            assert view == slow.view()  # the two routers hold the same state, not only decide alike
            before = settled(view)
            fresh_seed = rng.random()
            fast, slow = Router(CountingRandom(0)), LinearScanRouter(CountingRandom(0))
            fast.rng.seed(fresh_seed)
            slow.rng.seed(fresh_seed)
            got, expected = fast.restore(view, now), slow.restore(slow_view(view), now)
            assert got == expected
            cancels = [c for c in got.commands if isinstance(c, CancelOffer)]
            assert {c.item_id for c in cancels} == before["in_flight"]
            assert all(c.reason == RESTORED for c in cancels)
            cancelled += len(cancels)
            restores += 1
            if not got.commands:  # nothing in flight and no timer due: the restored router is the same state
                after = settled(fast.view())
                assert after["order"] == before["order"] and after["items"] == before["items"]
                assert after["agents"] == before["agents"]
            check_invariants(fast, now, connects)
            continue
        method, args = random_call(fast, rng, now, n)
        got_out, expected_out = run(fast, method, args), run(slow, method, args)
        assert got_out == expected_out, (n, method, args)
        if isinstance(got_out, Outputs):
            connects.update(line.split("|")[1] for line in got_out.queue_log if "|CONNECT|" in line)
        check_invariants(fast, now, connects)
    assert restores > 15 and cancelled > 5 and len(connects) > 60


def slow_view(view: RouterView) -> RouterView:
    """The same view with its mappings in another order: a restore must not depend on it."""
    return RouterView(
        view.now,
        dict(reversed(list(view.queues.items()))),
        dict(reversed(list(view.agents.items()))),
        dict(reversed(list(view.items.items()))),
    )


def test_restore_keeps_a_pause_a_wrapup_a_connected_chat_and_cancels_the_ringing_call() -> None:
    router = Router(random.Random(0))
    router.add_queue(QueueConfig("sales", wrapup_s=30), 0)
    capacities = {"ann": {Channel.CHAT: 2}, "bob": {Channel.VOICE: 1}, "cid": {Channel.VOICE: 1}}
    capacities["dan"] = {Channel.VOICE: 1}
    for agent_id, capacity in capacities.items():
        router.add_agent(AgentConfig(agent_id, capacity), 0)
        router.add_member(agent_id, "sales", 0)
        router.login(agent_id, 0)
    router.pause("cid", 1, "lunch")
    router.enqueue(WorkItem("chat1", "sales", Channel.CHAT), 2)  # -> ann
    router.accept("chat1", "ann", 3)
    router.enqueue(WorkItem("call1", "sales"), 4)  # -> bob (longest idle, then first to join)
    router.accept("call1", "bob", 5)
    router.complete("call1", 6)  # bob in wrap-up until 36
    router.enqueue(WorkItem("call2", "sales"), 7)  # -> dan, ringing
    router.enqueue(WorkItem("call3", "sales"), 8)  # nobody: waits
    router.enqueue(WorkItem("vip", "sales", contact_priority=5), 9)  # nobody: waits, ahead of call3
    view = router.view()
    assert view.items["call2"].status is ItemStatus.OFFERED and view.items["call2"].offered_to == ("dan",)
    assert view.waiting_order("sales") == ["vip", "call3"]

    restored = Router(random.Random(0))
    out = restored.restore(view, 10)
    # The ringing call is cancelled, not offered twice, and goes back to its place (before call3: it came
    # first); dan is free again and gets the best waiting item, the VIP.
    assert out.commands == [CancelOffer("call2", "dan", RESTORED), Offer("vip", "dan", "sales", Channel.VOICE, 15.0)]
    after = restored.view()
    assert after.waiting_order("sales") == ["call2", "call3"]
    assert after.agents["cid"].pause_code == "lunch" and after.agents["cid"].status == "paused"
    assert after.agents["bob"].wrapup_until == 36 and after.agents["bob"].status == "wrap-up"
    assert after.agents["ann"].connected == ("chat1",) and after.agents["ann"].load == {Channel.CHAT: 1}
    assert after.items["chat1"].status is ItemStatus.CONNECTED and after.items["chat1"].agent_id == "ann"
    # The wrap-up ends when it was due: bob then takes the next call in line.
    restored.accept("vip", "dan", 11)
    assert restored.tick(36).commands[-1] == Offer("call2", "bob", "sales", Channel.VOICE, 15.0)
    with pytest.raises(RouterError):
        restored.restore(view, 40)  # only an empty router is rebuilt
