"""Indexes of the agents available for one (queue, capacity channel, tier), one kind per strategy.

Every index answers "which available agent does this strategy pick" without scanning the members:
- OrderedIndex: a sorted list by strategy key (longest-idle, fewest-handled, linear, ring-all) with exact
  removal by bisection, so its head is always the pick and a decision never pops stale entries (a lazy
  heap left them to whichever decision came next, which made the latency tail);
- RingIndex: sorted member positions for round-robin with memory (next position after the last offered);
- WeightedIndex: a Fenwick tree of member weights for weighted random (O(log n) draw and update).
An item at stage s looks at the indexes of tiers 0..s; ``select_agent`` merges them per strategy.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Collection, Iterator, Sequence

from tvoxcc.queues.model import Strategy

Key = tuple[float, ...]


class OrderedIndex:
    """Available agents sorted by (strategy key, agent), with exact removal: the head is always the pick."""

    __slots__ = ("_entries", "_key_of")

    def __init__(self) -> None:
        self._entries: list[tuple[Key, str]] = []
        self._key_of: dict[str, Key] = {}

    def __len__(self) -> int:
        return len(self._key_of)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._key_of

    def __iter__(self) -> Iterator[str]:
        """The agents in key order (not in the order they became available: that is history, not a rule)."""
        return (agent_id for _, agent_id in self._entries)

    def put(self, agent_id: str, key: Key, position: int, weight: int) -> None:
        entries = self._entries
        old = self._key_of.get(agent_id)
        if old is not None:
            if old == key:
                return
            del entries[bisect.bisect_left(entries, (old, agent_id))]
        self._key_of[agent_id] = key
        bisect.insort(entries, (key, agent_id))

    def discard(self, agent_id: str) -> None:
        old = self._key_of.pop(agent_id, None)
        if old is not None:
            entries = self._entries
            del entries[bisect.bisect_left(entries, (old, agent_id))]

    def best(self, exclude: Collection[str]) -> tuple[Key, str] | None:
        """The first agent in order not in ``exclude`` (the few who just did not answer the item)."""
        entries = self._entries
        if not exclude:
            return entries[0] if entries else None
        for entry in entries:
            if entry[1] not in exclude:
                return entry
        return None


class RingIndex:
    __slots__ = ("_agent_at", "_position_of", "_positions")

    def __init__(self) -> None:
        self._positions: list[int] = []
        self._agent_at: dict[int, str] = {}
        self._position_of: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._positions)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._position_of

    def __iter__(self) -> Iterator[str]:
        return iter(self._position_of)

    def put(self, agent_id: str, key: Key, position: int, weight: int) -> None:
        if agent_id in self._position_of:
            return
        bisect.insort(self._positions, position)
        self._agent_at[position] = agent_id
        self._position_of[agent_id] = position

    def discard(self, agent_id: str) -> None:
        position = self._position_of.pop(agent_id, None)
        if position is not None:
            del self._positions[bisect.bisect_left(self._positions, position)]
            del self._agent_at[position]

    def next_after(self, last: int, exclude: Collection[str]) -> tuple[int, str] | None:
        """(position, agent) of the first agent after ``last`` going round; positions wrap to the start."""
        positions = self._positions
        n = len(positions)
        start = bisect.bisect_right(positions, last)
        for step in range(n):
            position = positions[(start + step) % n]
            agent_id = self._agent_at[position]
            if agent_id not in exclude:
                return position, agent_id
        return None


class WeightedIndex:
    __slots__ = ("_agent_at", "_total", "_tree", "_weight_of")

    def __init__(self) -> None:
        self._tree: list[int] = [0] * 65  # Fenwick tree, 1-based, over member positions
        self._total = 0  # kept on every change: a draw needs it for every tier, a prefix walk each is slow
        self._weight_of: dict[str, tuple[int, int]] = {}  # agent -> (position, weight)
        self._agent_at: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._weight_of)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._weight_of

    def __iter__(self) -> Iterator[str]:
        return iter(self._weight_of)

    def _add(self, position: int, delta: int) -> None:
        i = position + 1
        tree = self._tree
        while i < len(tree):
            tree[i] += delta
            i += i & -i

    def _grow(self, position: int) -> None:
        size = len(self._tree) - 1
        while size <= position:
            size *= 2
        self._tree = [0] * (size + 1)
        for agent_position, weight in self._weight_of.values():
            self._add(agent_position, weight)

    def put(self, agent_id: str, key: Key, position: int, weight: int) -> None:
        if agent_id in self._weight_of:
            return
        if position + 1 >= len(self._tree):
            self._grow(position + 1)
        self._weight_of[agent_id] = (position, weight)
        self._agent_at[position] = agent_id
        self._add(position, weight)
        self._total += weight

    def discard(self, agent_id: str) -> None:
        entry = self._weight_of.pop(agent_id, None)
        if entry is not None:
            del self._agent_at[entry[0]]
            self._add(entry[0], -entry[1])
            self._total -= entry[1]

    def total(self) -> int:
        return self._total

    def find(self, target: int) -> str:
        """The agent whose cumulative weight range holds ``target`` (0 <= target < total)."""
        tree = self._tree
        position, step = 0, 1 << ((len(tree) - 1).bit_length() - 1)
        while step:
            nxt = position + step
            if nxt < len(tree) and tree[nxt] <= target:
                position = nxt
                target -= tree[nxt]
            step >>= 1
        return self._agent_at[position]


AgentIndex = OrderedIndex | RingIndex | WeightedIndex


def new_index(strategy: Strategy) -> AgentIndex:
    if strategy is Strategy.ROUND_ROBIN:
        return RingIndex()
    if strategy is Strategy.WEIGHTED_RANDOM:
        return WeightedIndex()
    return OrderedIndex()


def select_agent(tiers: Sequence[AgentIndex], rr_last: int, rng: random.Random, exclude: Collection[str]) -> str | None:
    """The agent the strategy picks among the given tiers (all of them are eligible)."""
    first = tiers[0]
    if isinstance(first, OrderedIndex):
        best: tuple[Key, str] | None = None
        for index in tiers:
            assert isinstance(index, OrderedIndex)
            candidate = index.best(exclude)
            if candidate is not None and (best is None or candidate < best):
                best = candidate
        return None if best is None else best[1]
    if isinstance(first, RingIndex):
        # Distance going round from the last offered position decides across tiers.
        nearest: tuple[int, str] | None = None
        for index in tiers:
            assert isinstance(index, RingIndex)
            found = index.next_after(rr_last, exclude)
            if found is not None:
                distance = found[0] - rr_last if found[0] > rr_last else found[0] - rr_last + (1 << 62)
                if nearest is None or distance < nearest[0]:
                    nearest = (distance, found[1])
        return None if nearest is None else nearest[1]
    return _weighted(tiers, rng, exclude)


def _weighted(tiers: Sequence[AgentIndex], rng: random.Random, exclude: Collection[str]) -> str | None:
    if not exclude:
        return _draw([index for index in tiers if isinstance(index, WeightedIndex)], rng)
    weighted = [index for index in tiers if isinstance(index, WeightedIndex) and index]
    removed: list[tuple[WeightedIndex, str, int, int]] = []
    try:
        # Excluded agents leave the trees for the draw, so the draw stays proportional among the others.
        for index in weighted:
            for agent_id in exclude:
                entry = index._weight_of.get(agent_id)
                if entry is not None:
                    removed.append((index, agent_id, entry[0], entry[1]))
                    index.discard(agent_id)
        return _draw(weighted, rng)
    finally:
        for index, agent_id, position, weight in removed:
            index.put(agent_id, (), position, weight)


def _draw(weighted: Sequence[WeightedIndex], rng: random.Random) -> str | None:
    """One draw over the tiers' trees, proportional to weight (one rng.random() call when any weight)."""
    grand = 0
    for index in weighted:
        grand += index._total
    if grand <= 0:
        return None
    target = int(rng.random() * grand)
    for index in weighted:
        total = index._total
        if target < total:
            return index.find(target)
        target -= total
    return None  # pragma: no cover - target < grand always lands in a tree


def all_agents(tiers: Sequence[AgentIndex], exclude: Collection[str]) -> list[str]:
    """Every available agent in the tiers (ring-all): tier by tier, each tier in key order (penalty, position)."""
    return [agent_id for index in tiers for agent_id in index if agent_id not in exclude]
