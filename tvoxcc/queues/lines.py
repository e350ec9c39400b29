"""The waiting items of one (queue, capacity channel): one sorted line per relaxation stage.

An item waits in the line of the stage its wait has reached; an agent whose tier in the queue is t may
take items of stages t and up. ``best_from[t]`` is the first entry in order among the lines of stages
>= t, kept current on every add and remove, so a freed agent reads one entry per queue instead of one
line head per stage (the lines are the only thing a decision reads, so they hold no stale entries).

Entries are ``(order key, item id)``; order keys are unique (they end with an arrival sequence number),
so entries never compare on the id and an entry is found by bisection.
"""

from __future__ import annotations

import bisect

from tvoxcc.queues.strategies import Key

WaitEntry = tuple[Key, str]  # (order key, item id)


class StagedLines:
    __slots__ = ("best_from", "lines")

    def __init__(self, stages: int) -> None:
        self.lines: list[list[WaitEntry]] = [[] for _ in range(stages)]
        self.best_from: list[WaitEntry | None] = [None] * stages

    def add(self, stage: int, entry: WaitEntry) -> None:
        line = self.lines[stage]
        bisect.insort(line, entry)
        if line[0] is not entry:
            return  # not a new head: no best changes
        best_from = self.best_from
        for tier in range(stage, -1, -1):
            best = best_from[tier]
            if best is not None and best < entry:
                return  # best_from[tier - 1] <= best_from[tier] < entry: the lower tiers keep theirs too
            best_from[tier] = entry

    def remove(self, stage: int, entry: WaitEntry) -> None:
        line = self.lines[stage]
        index = bisect.bisect_left(line, entry)
        entry = line.pop(index)  # the stored tuple itself: best_from holds stored tuples, compared by identity
        if index:
            return  # it was not its line's head, so no best_from was it
        lines, best_from = self.lines, self.best_from
        later = best_from[stage + 1] if stage + 1 < len(lines) else None
        for tier in range(stage, -1, -1):
            if best_from[tier] is not entry:
                return  # the best of this tier was another entry, so are those of the lower tiers
            head = lines[tier][0] if lines[tier] else None
            later = head if later is None or (head is not None and head < later) else later
            best_from[tier] = later
