"""The abandon ledger of one campaign: live-answered, abandoned and machine-answered calls over the rule's window.

The rate is abandoned / live-answered over the window (US: rolling 30 days). Under the UK rule the ledger also
counts an estimate of AMD false positives: a share of the machine-classified answers were people whose call was
dropped, so that share is added to both the abandoned and the live-answered counts (Ofcom's persistent misuse
policy, A1.12).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from tvoxcc.campaigns.model import ABANDON_LIMIT, RULE_WINDOW_S, AbandonRule


class LedgerEntry(StrEnum):
    LIVE = "live"  # a person answered and reached an agent
    ABANDONED = "abandoned"  # a person answered and no agent came within 2 s
    MACHINE = "machine"  # AMD said machine
    DROPPED = "dropped"  # counted live, then its agent never came on the line: an abandon after all


@dataclass(frozen=True, slots=True)
class LedgerCounts:
    live: float  # live-answered calls (reached an agent or abandoned), estimate included
    abandoned: float

    @property
    def rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0


class AbandonLedger:
    def __init__(self, rule: AbandonRule, amd_false_positive_rate: float = 0.0) -> None:
        self.rule = rule
        self.window_s = RULE_WINDOW_S[rule]
        self.false_positive_rate = amd_false_positive_rate if rule is AbandonRule.UK_24_HOURS else 0.0
        self._entries: deque[tuple[float, LedgerEntry]] = deque()
        self._counts = dict.fromkeys(LedgerEntry, 0)
        self.fresh: list[tuple[float, LedgerEntry, str | None]] = []  # recorded since the store last took them

    def load(self, at: float, entry: LedgerEntry) -> None:
        """An entry already stored (a restart reading the window back)."""
        if self._entries and at < self._entries[-1][0]:
            raise ValueError("ledger entries must come in time order")
        self._entries.append((at, entry))
        self._counts[entry] += 1

    def record(self, at: float, entry: LedgerEntry, number: str | None = None) -> None:
        """A new entry (the number, for an abandon: it is held 72 h, across restarts too)."""
        self.load(at, entry)
        self.fresh.append((at, entry, number))

    def take_fresh(self) -> list[tuple[float, LedgerEntry, str | None]]:
        fresh, self.fresh = self.fresh, []
        return fresh

    def counts(self, now: float) -> LedgerCounts:
        self._expire(now)
        machines_as_people = self.false_positive_rate * self._counts[LedgerEntry.MACHINE]
        abandoned = self._counts[LedgerEntry.ABANDONED] + self._counts[LedgerEntry.DROPPED] + machines_as_people
        live = self._counts[LedgerEntry.LIVE] + self._counts[LedgerEntry.ABANDONED] + machines_as_people
        return LedgerCounts(live=live, abandoned=abandoned)

    def headroom(self, now: float, more_live: float = 0.0, more_machines: float = 0.0) -> float:
        """Abandons the window can still take and stay within the limit, once `more_live` people and
        `more_machines` machines have answered (under the UK rule each machine counts its false-positive share)."""
        counts = self.counts(now)
        estimate = self.false_positive_rate * more_machines
        return ABANDON_LIMIT * (counts.live + more_live + estimate) - counts.abandoned - estimate

    def _expire(self, now: float) -> None:
        horizon = now - self.window_s
        while self._entries and self._entries[0][0] <= horizon:
            _, entry = self._entries.popleft()
            self._counts[entry] -= 1
