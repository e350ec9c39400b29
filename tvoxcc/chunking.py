"""Cut a sequence into runs bounded by a count and a summed cost (mail FETCH batches, ARI subscriptions)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def packed(items: Iterable[T], cost: Callable[[T], int], *, max_count: int, max_cost: int) -> list[list[T]]:
    """Consecutive runs of ``items``, in order, each at most ``max_count`` long and ``max_cost`` in cost;
    an item costing more than ``max_cost`` gets a run of its own."""
    runs: list[list[T]] = []
    current: list[T] = []
    total = 0
    for item in items:
        price = cost(item)
        if current and (len(current) >= max_count or total + price > max_cost):
            runs.append(current)
            current, total = [], 0
        current.append(item)
        total += price
    if current:
        runs.append(current)
    return runs
