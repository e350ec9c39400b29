"""The ordered structures the decisions read: staged waiting lines and the agent indexes, against brute force."""

from __future__ import annotations

import random

from tvoxcc.queues.lines import StagedLines, WaitEntry
from tvoxcc.queues.strategies import OrderedIndex, RingIndex, WeightedIndex, select_agent


def best_from_brute_force(lines: StagedLines) -> list[WaitEntry | None]:
    return [min((e for line in lines.lines[tier:] for e in line), default=None) for tier in range(len(lines.lines))]


def test_best_from_is_the_first_entry_a_tier_may_take_through_random_adds_and_removes() -> None:
    rng = random.Random(3)
    lines = StagedLines(3)
    present: dict[WaitEntry, int] = {}
    for seq in range(3000):
        if present and rng.random() < 0.45:
            entry = rng.choice(sorted(present))
            lines.remove(present.pop(entry), (entry[0], entry[1]))  # an equal tuple, not the stored one
        else:
            # Few priorities and arrival times: many ties, broken by the arrival sequence only.
            entry = ((float(-rng.randint(0, 2)), float(rng.randint(0, 5)), float(seq)), f"i{seq}")
            present[entry] = rng.randrange(3)
            lines.add(present[entry], entry)
        assert lines.best_from == best_from_brute_force(lines)
        assert all(line == sorted(line) for line in lines.lines)
    assert sum(len(line) for line in lines.lines) == len(present)


def test_a_tier_never_sees_entries_of_earlier_stages() -> None:
    lines = StagedLines(3)
    vip = ((-10.0, 5.0, 2.0), "vip")
    old = ((0.0, 0.0, 1.0), "old")
    lines.add(0, vip)  # fresh, but a VIP
    lines.add(2, old)  # waited long enough for the last stage
    assert lines.best_from == [vip, old, old]
    lines.remove(2, old)
    assert lines.best_from == [vip, None, None]


def test_ordered_index_keeps_the_best_key_at_the_head_and_skips_excluded_agents() -> None:
    rng = random.Random(5)
    index = OrderedIndex()
    keys: dict[str, tuple[float, ...]] = {}
    for step in range(2000):
        agent_id = f"a{rng.randrange(40)}"
        if rng.random() < 0.3:
            index.discard(agent_id)
            keys.pop(agent_id, None)
        else:
            # (idle since, join position): equal idle times tie-break on the position.
            keys[agent_id] = (float(rng.randint(0, 9)), float(int(agent_id[1:])))
            index.put(agent_id, keys[agent_id], 0, 1)
        exclude = set(rng.sample(sorted(keys), min(2, len(keys)))) if step % 3 == 0 else set()
        expected = min(((k, a) for a, k in keys.items() if a not in exclude), default=None)
        assert index.best(exclude) == expected
        assert len(index) == len(keys) and set(index) == set(keys)


def test_ordered_tiers_merge_on_the_strategy_key() -> None:
    tier0, tier1 = OrderedIndex(), OrderedIndex()
    tier0.put("late", (50.0, 0.0), 0, 1)
    tier1.put("early", (10.0, 1.0), 1, 1)
    assert select_agent([tier0], -1, random.Random(0), ()) == "late"
    assert select_agent([tier0, tier1], -1, random.Random(0), ()) == "early"
    assert select_agent([tier0, tier1], -1, random.Random(0), {"early"}) == "late"


def test_round_robin_goes_round_across_tiers_from_the_last_position() -> None:
    tier0, tier1 = RingIndex(), RingIndex()
    for agent_id, position, index in (("p1", 1, tier0), ("p4", 4, tier0), ("p2", 2, tier1), ("p6", 6, tier1)):
        index.put(agent_id, (), position, 1)
    assert select_agent([tier0, tier1], 1, random.Random(0), ()) == "p2"
    assert select_agent([tier0, tier1], 2, random.Random(0), ()) == "p4"
    assert select_agent([tier0, tier1], 6, random.Random(0), ()) == "p1"  # wraps round
    assert select_agent([tier0, tier1], 6, random.Random(0), {"p1"}) == "p2"


def test_weighted_draws_follow_the_totals_kept_across_puts_and_discards() -> None:
    tier0, tier1 = WeightedIndex(), WeightedIndex()
    tier0.put("a", (), 0, 1)
    tier0.put("b", (), 70, 3)  # beyond the initial tree: it grows
    tier1.put("c", (), 5, 4)
    tier1.discard("c")
    tier1.put("d", (), 6, 4)
    assert (tier0.total(), tier1.total()) == (4, 4)
    counts = {"a": 0, "b": 0, "d": 0}
    rng = random.Random(11)
    for _ in range(8000):
        chosen = select_agent([tier0, tier1], -1, rng, ())
        assert chosen is not None
        counts[chosen] += 1
    assert 0.11 < counts["a"] / 8000 < 0.14 and 0.35 < counts["b"] / 8000 < 0.40 and 0.48 < counts["d"] / 8000 < 0.52
    assert select_agent([tier0, tier1], -1, rng, {"a", "b"}) == "d"
    assert (tier0.total(), tier1.total()) == (4, 4)  # excluded agents are back after the draw
    assert select_agent([WeightedIndex()], -1, rng, ()) is None
