"""Figures along the hierarchy and the dispositions: per group, per campaign, per disposition. Pure.

Definitions (rows over the report's local days, no interval split):
- a **talk** is an interaction that reached a queue or an agent (IVR-only calls never reached agents), or a
  campaign's dialled line (campaign_attempts); it counts on the day it was offered (dialled);
- **contacts**: talks; **answered**: with ``answered_at``; **handled**: answered and ended;
  **talk_s** = Σ (ended_at − answered_at) of handled talks; **aht_s** = talk_s / handled (talk only: wrap-up
  time belongs to the queue figures of `--by agent|queue`);
- **by group**: a talk counts on the row of each group of the agent who took it (an agent in two groups
  counts on both; so the rows may add up to more than the tenant); no agent, or an agent in no group: ``-``;
- **by campaign**: the talk's campaign; an inbound (or any non-campaign) interaction: ``-``;
- **by disposition**: the disposition given at wrap-up (its name); none given: ``-``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

NONE = "-"


class HierarchyDimension(StrEnum):
    GROUP = "group"
    CAMPAIGN = "campaign"
    DISPOSITION = "disposition"


@dataclass(frozen=True, slots=True)
class Talk:
    offered_at: datetime
    agent: str | None = None
    campaign: str | None = None
    disposition: str | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(slots=True)
class TalkFigures:
    contacts: int = 0
    answered: int = 0
    handled: int = 0
    talk_s: float = 0.0

    @property
    def aht_s(self) -> float | None:
        return self.talk_s / self.handled if self.handled else None

    def count(self, talk: Talk) -> None:
        self.contacts += 1
        if talk.answered_at is None:
            return
        self.answered += 1
        if talk.ended_at is not None:
            self.handled += 1
            self.talk_s += max(0.0, (talk.ended_at - talk.answered_at).total_seconds())

    def to_json(self) -> dict[str, Any]:
        aht = self.aht_s
        return {
            "contacts": self.contacts,
            "answered": self.answered,
            "handled": self.handled,
            "talk_s": round(self.talk_s, 1),
            "aht_s": None if aht is None else round(aht, 1),
        }


def _keys(talk: Talk, by: HierarchyDimension, agent_groups: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    if by is HierarchyDimension.GROUP:
        return (agent_groups.get(talk.agent, ()) if talk.agent else ()) or (NONE,)
    if by is HierarchyDimension.CAMPAIGN:
        return (talk.campaign or NONE,)
    return (talk.disposition or NONE,)


def by_hierarchy(
    talks: Iterable[Talk], by: HierarchyDimension, agent_groups: Mapping[str, tuple[str, ...]]
) -> dict[str, TalkFigures]:
    """Rows keyed by group, campaign or disposition name, sorted by key (``-`` last)."""
    rows: dict[str, TalkFigures] = {}
    for talk in talks:
        for key in _keys(talk, by, agent_groups):
            rows.setdefault(key, TalkFigures()).count(talk)
    return dict(sorted(rows.items(), key=lambda kv: (kv[0] == NONE, kv[0])))


def to_rows(by: HierarchyDimension, rows: Mapping[str, TalkFigures]) -> list[dict[str, Any]]:
    return [{by.value: key, **figures.to_json()} for key, figures in rows.items()]
