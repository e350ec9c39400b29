"""Thousands of random events: invariants hold, and the indexed router decides like the linear scan."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter

import pytest

from tvoxcc.queues.lines import WaitEntry
from tvoxcc.queues.model import (
    CAPACITY_CHANNEL,
    AgentConfig,
    Channel,
    ItemStatus,
    Offer,
    Outputs,
    OverflowAction,
    OverflowRule,
    OverflowWhen,
    QueueConfig,
    RelaxRule,
    RouterError,
    Strategy,
    WorkItem,
)
from tvoxcc.queues.reference import LinearScanRouter
from tvoxcc.queues.router import Router
from tvoxcc.queues.skills import item_levels, qualifies, required_levels, stage_at

SKILLS = ("en", "it", "billing")
CHANNELS = (Channel.VOICE, Channel.VOICE, Channel.CHAT, Channel.MAIL)
# An item's own skills (an IVR set them): none, more than its queue asks, or no more (then it routes as usual).
ITEM_SKILLS: tuple[dict[str, int], ...] = ({},) * 6 + ({"en": 7}, {"it": 3, "billing": 8}, {"en": 2}, {"it": 6})


def build(router: Router, strategy: Strategy, rng: random.Random) -> None:
    relax = (RelaxRule(20, 3), RelaxRule(45, 1))
    queues = [
        QueueConfig("q0", strategy, {"en": 5}, relax, wrapup_s=3, ring_timeout_s=10, max_wait_s=300),
        QueueConfig("q1", strategy, {"it": 4, "billing": 6}, relax[:1], priority=2, wrapup_s=0, rona_pause=False),
        QueueConfig(
            "q2",
            strategy,
            {},
            overflow=(
                OverflowRule(OverflowWhen.WAIT, OverflowAction.QUEUE, "q0", after_s=40),
                OverflowRule(OverflowWhen.LENGTH, OverflowAction.VOICEMAIL, length=6),
            ),
            channel_priority={Channel.CHAT: 3},
            wrapup_s=5,
        ),
        QueueConfig(
            "q3", strategy, {"billing": 2}, overflow=(OverflowRule(OverflowWhen.NO_AGENTS, OverflowAction.IVR, "menu"),)
        ),
    ]
    for queue in queues:
        router.add_queue(queue, 0)
    for n in range(10):
        capacity = rng.choice(
            [
                {Channel.VOICE: 1},
                {Channel.VOICE: 1, Channel.CHAT: 3},
                {Channel.CHAT: 2, Channel.MAIL: 5, Channel.VOICE: 1},
            ]
        )
        skills = {s: rng.randint(1, 9) for s in SKILLS if rng.random() < 0.7}
        router.add_agent(AgentConfig(f"a{n}", capacity, rng.random() < 0.8, skills), 0)
        for queue in rng.sample(queues, rng.randint(1, 3)):
            router.add_member(f"a{n}", queue.name, 0, penalty=rng.randint(0, 3), weight=rng.randint(1, 4))


def random_call(router: Router, rng: random.Random, now: float, n: int) -> tuple[str, tuple[object, ...]]:
    """Pick a call that fits the current state (most of the time) and return (method, args)."""
    items = list(router.items.values())
    agents = list(router.agents.values())
    by_status: dict[ItemStatus, list[str]] = {}
    for item in items:
        by_status.setdefault(item.status, []).append(item.item_id)
    roll = rng.random()
    agent = rng.choice(agents).agent_id
    if roll < 0.25:
        work = WorkItem(
            f"i{n}",
            rng.choice(["q0", "q1", "q2", "q3"]),
            rng.choice(CHANNELS),
            rng.choice([0, 0, 0, 5]),
            caller_id="06",
            skills=rng.choice(ITEM_SKILLS),
        )
        return "enqueue", (work, now)
    if roll < 0.40 and by_status.get(ItemStatus.OFFERED):
        item = router.items[rng.choice(by_status[ItemStatus.OFFERED])]
        target = rng.choice(sorted(item.offered_to))
        return ("accept" if rng.random() < 0.8 else "ring_no_answer"), (item.item_id, target, now)
    if roll < 0.55 and by_status.get(ItemStatus.CONNECTED):
        return "complete", (rng.choice(by_status[ItemStatus.CONNECTED]), now)
    if roll < 0.60 and by_status.get(ItemStatus.WAITING):
        return "abandon", (rng.choice(by_status[ItemStatus.WAITING]), now)
    if roll < 0.63 and by_status.get(ItemStatus.WAITING):
        return "request_callback", (rng.choice(by_status[ItemStatus.WAITING]), now)
    if roll < 0.68 and by_status.get(ItemStatus.DIALING):
        method = "callback_answered" if rng.random() < 0.7 else "callback_failed"
        return method, (rng.choice(by_status[ItemStatus.DIALING]), now)
    if roll < 0.74:
        return ("pause", (agent, now, "BRK")) if rng.random() < 0.2 else ("unpause", (agent, now))
    if roll < 0.78:
        return ("login", (agent, now)) if rng.random() < 0.6 else ("logout", (agent, now))
    if roll < 0.82:
        return "set_skill", (agent, rng.choice(SKILLS), rng.choice([None, 1, 3, 5, 8]), now)
    if roll < 0.85:
        queue = rng.choice(["q0", "q1", "q2", "q3"])
        if queue in router.agents[agent].members:
            return "remove_member", (agent, queue, now)
        return "add_member", (agent, queue, now)
    if roll < 0.87:
        return "end_wrapup", (agent, now)
    return "tick", (now,)


def check_invariants(router: Router, now: float, connects: Counter[str]) -> None:
    held: dict[str, Counter[Channel]] = {a: Counter() for a in router.agents}
    for item in router.items.values():
        cap = CAPACITY_CHANNEL[item.channel]
        if item.status is ItemStatus.OFFERED:
            for agent_id in item.offered_to:
                held[agent_id][cap] += 1
        if item.status in (ItemStatus.CONNECTED, ItemStatus.DIALING):
            assert item.agent_id is not None
            held[item.agent_id][cap] += 1
    for agent in router.agents.values():
        mine = agent.agent_id
        hands = {i.item_id for i in router.items.values() if mine in i.offered_to or i.agent_id == mine}
        assert agent.in_hand == hands, agent.agent_id
        for channel, count in held[agent.agent_id].items():
            assert agent.load.get(channel, 0) == count, (agent.agent_id, channel)
            assert count <= agent.capacity.get(channel, 0) or agent.logged_in is False, "over capacity"
        assert agent.available == agent.takeable()
        assert agent.status == agent.derived_status()
    assert all(count == 1 for count in connects.values()), "an item was connected twice"
    check_lines(router)
    # Work-conserving: no waiting item has an eligible agent with room for it.
    for item in router.items.values():
        if item.status is not ItemStatus.WAITING:
            continue
        q = router.queues[item.queue]
        levels = item_levels(q.config.skills, item.skills)
        required = required_levels(levels, q.config.relax, stage_at(q.config.relax, item.queued_at, now))
        for member in q.members.values():
            agent = router.agents[member.agent_id]
            eligible = agent.can_take(CAPACITY_CHANNEL[item.channel]) and qualifies(agent.skills, required)
            assert not eligible, f"{item.item_id} waits while {agent.agent_id} could take it"


def check_lines(router: Router) -> None:
    """Each waiting item is in exactly one line (its capacity channel and stage, or the narrowed line when its own
    skills ask more than its queue), lines hold nothing else, and each tier's best entry is the first of the
    lines it may take from."""
    for q in router.queues.values():
        expected: dict[Channel, set[tuple[int, WaitEntry]]] = {}
        narrowed: dict[Channel, list[WaitEntry]] = {}
        for item in q.waiting_items.values():
            assert item.status is ItemStatus.WAITING
            entry = (item.key, item.item_id)
            if item_levels(q.config.skills, item.skills) == q.config.skills:
                assert item.needs is None
                expected.setdefault(CAPACITY_CHANNEL[item.channel], set()).add((item.stage, entry))
            else:
                assert item.needs == required_levels(
                    item_levels(q.config.skills, item.skills), q.config.relax, item.stage
                )
                narrowed.setdefault(CAPACITY_CHANNEL[item.channel], []).append(entry)
        assert q.narrowed == {cap: sorted(entries) for cap, entries in narrowed.items()}
        assert set(expected) <= set(q.waiting)
        for cap, staged in q.waiting.items():
            got = {(stage, entry) for stage, line in enumerate(staged.lines) for entry in line}
            assert got == expected.get(cap, set()), (q.config.name, cap)
            assert all(line == sorted(line) for line in staged.lines)
            for tier in range(len(staged.lines)):
                heads = [line[0] for line in staged.lines[tier:] if line]
                assert staged.best_from[tier] == (min(heads) if heads else None)


class CountingRandom(random.Random):
    """The randomness injected into a router, counting its draws (weighted-random draws once per pick)."""

    def __init__(self, seed: int) -> None:
        self.draws = 0
        super().__init__(seed)

    def random(self) -> float:
        self.draws += 1
        return super().random()


def run(router: Router, method: str, args: tuple[object, ...]) -> Outputs | str:
    try:
        out: Outputs = getattr(router, method)(*args)
    except RouterError as error:
        return str(error)
    return out


@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_events_keep_invariants_and_match_the_linear_scan(strategy: Strategy, seed: int) -> None:
    rng = random.Random(seed)
    fast_rng, slow_rng = CountingRandom(seed), CountingRandom(seed)  # the same randomness for both
    fast, slow = Router(fast_rng), LinearScanRouter(slow_rng)
    build(fast, strategy, random.Random(seed))
    build(slow, strategy, random.Random(seed))
    for agent_id in fast.agents:
        fast.login(agent_id, 0)
        slow.login(agent_id, 0)
    now = 0.0
    connects: Counter[str] = Counter()
    offered = rang_together = narrowed = 0
    for n in range(6000):
        now += rng.choice([0, 0, 0.5, 1, 2, 5, 11])
        method, args = random_call(fast, rng, now, n)
        got, expected = run(fast, method, args), run(slow, method, args)
        assert got == expected, (n, method, args)
        if isinstance(got, Outputs):
            connects.update(line.split("|")[1] for line in got.queue_log if "|CONNECT|" in line)
            per_item = Counter(c.item_id for c in got.commands if isinstance(c, Offer))
            offered += per_item.total()
            rang_together += sum(count > 1 for count in per_item.values())
            narrowed += sum(item_id in fast.items and fast.items[item_id].needs is not None for item_id in per_item)
        check_invariants(fast, now, connects)
    assert offered > 400 and len(connects) > 150  # the run exercised the router, not just errors
    assert narrowed > 20  # … and items asking skills of their own
    assert fast_rng.draws == slow_rng.draws  # each pick drew the same random number on both sides
    if strategy is Strategy.WEIGHTED_RANDOM:
        assert fast_rng.draws > 300  # the picks were draws
    else:
        assert fast_rng.draws == 0  # only weighted-random is random
    if strategy is Strategy.RING_ALL:
        assert rang_together > 25  # items rang several agents at once


def reconfigured(router: Router, rng: random.Random) -> QueueConfig:
    """A live variant of one queue: other levels, relax rules, strategy, wrap-up."""
    config = router.queues[rng.choice(["q0", "q1", "q2", "q3"])].config
    skills = {skill: max(1, level + rng.choice([-3, -1, 1, 2])) for skill, level in config.skills.items()}
    relax = rng.choice([(), (RelaxRule(15, 2),), (RelaxRule(10, 4), RelaxRule(30, 2), RelaxRule(50, 1))])
    strategy = rng.choice(list(Strategy))
    return dataclasses.replace(config, skills=skills, relax=relax, strategy=strategy, wrapup_s=rng.choice([0, 4]))


@pytest.mark.parametrize("seed", [4, 5])
def test_live_queue_changes_keep_invariants_and_match_the_linear_scan(seed: int) -> None:
    rng = random.Random(seed)
    fast, slow = Router(random.Random(0)), LinearScanRouter(random.Random(0))
    build(fast, Strategy.LONGEST_IDLE, random.Random(seed))
    build(slow, Strategy.LONGEST_IDLE, random.Random(seed))
    for agent_id in fast.agents:
        fast.login(agent_id, 0)
        slow.login(agent_id, 0)
    now, connects, changes = 0.0, Counter[str](), 0
    for n in range(3000):
        now += rng.choice([0, 0, 1, 2, 5, 11])
        if rng.random() < 0.03:
            method, args = "update_queue", (reconfigured(fast, rng), now)
            changes += 1
        else:
            method, args = random_call(fast, rng, now, n)
        got, expected = run(fast, method, args), run(slow, method, args)
        assert got == expected, (n, method, args)
        if isinstance(got, Outputs):
            connects.update(line.split("|")[1] for line in got.queue_log if "|CONNECT|" in line)
        check_invariants(fast, now, connects)
    assert changes > 50 and len(connects) > 40  # the run exercised routing, not just reconfiguration
