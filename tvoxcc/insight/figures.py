"""A report row: its key (dimension value, interval bucket) and its figures, which add up into totals.

What each figure counts is defined where it is counted (tvoxcc.insight.metrics).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime

from tvoxcc.queues.model import AgentStatus

NONE = "-"  # the row of contacts without a value for the dimension (e.g. unanswered calls by agent)
ALL = "all"
HANDLING = frozenset({AgentStatus.BUSY, AgentStatus.WRAPUP})
STAFFED_IDLE = frozenset({AgentStatus.AVAILABLE, AgentStatus.RESERVED})

Key = tuple[str, datetime]


@dataclass(slots=True)
class Figures:
    """Sums and counts; ratios are properties so rows can be merged into totals by adding."""

    offered: int = 0
    shed: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    answered_in_sl: int = 0
    abandoned_in_sl: int = 0
    wait_answered_s: float = 0.0
    longest_wait_s: float = 0.0
    handled: int = 0
    talk_s: float = 0.0
    wrapup_s: float = 0.0
    pause_s: dict[str, float] = field(default_factory=dict)
    callbacks_requested: int = 0
    callbacks_completed: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    transfers: int = 0
    rona: int = 0
    state_s: dict[str, float] = field(default_factory=dict)
    tickets_resolved: int = 0
    tickets_fcr: int = 0
    sla_breaches: int = 0
    outbound: int = 0  # voice calls we placed (agents' own, callbacks, campaigns), counted by who made them
    outbound_answered: int = 0
    outbound_talk_s: float = 0.0

    def add(self, other: Figures) -> None:
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if f.name == "longest_wait_s":
                self.longest_wait_s = max(mine, theirs)
            elif isinstance(mine, dict):
                for code, spent in theirs.items():
                    mine[code] = mine.get(code, 0.0) + spent
            else:
                setattr(self, f.name, mine + theirs)

    @property
    def sl_base(self) -> int:
        return self.offered - self.short_abandoned

    @property
    def service_level(self) -> float | None:
        return _pct(self.answered_in_sl, self.sl_base)

    @property
    def service_level_abandons(self) -> float | None:
        return _pct(self.answered_in_sl + self.abandoned_in_sl, self.sl_base)

    @property
    def abandon_rate(self) -> float | None:
        return _pct(self.abandoned, self.sl_base)

    @property
    def asa_s(self) -> float | None:
        return self.wait_answered_s / self.answered if self.answered else None

    @property
    def aht_s(self) -> float | None:
        return (self.talk_s + self.wrapup_s) / self.handled if self.handled else None

    @property
    def handling_s(self) -> float:
        return sum(self.state_s.get(s, 0.0) for s in HANDLING)

    @property
    def staffed_s(self) -> float:
        return self.handling_s + sum(self.state_s.get(s, 0.0) for s in STAFFED_IDLE)

    @property
    def occupancy(self) -> float | None:
        staffed = self.staffed_s
        return 100.0 * self.handling_s / staffed if staffed else None

    @property
    def fcr(self) -> float | None:
        return _pct(self.tickets_fcr, self.tickets_resolved)

    @property
    def nps_answers(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def nps(self) -> float | None:
        return _pct(self.promoters - self.detractors, self.nps_answers)


def _pct(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def totals(rows: Iterable[Figures]) -> Figures:
    total = Figures()
    for figures in rows:
        total.add(figures)
    return total
