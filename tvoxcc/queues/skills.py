"""Skill requirements and their relaxation over waiting time.

A queue's rules are discrete *stages*: stage 0 asks the configured levels, stage k (k >= 1) accepts
``min(level, relax[k-1].min_level)`` for every skill. Because each rule accepts a lower level than the one
before, an agent that qualifies at stage k qualifies at every later stage, so each queue member gets one
number, its *tier* (the first stage it qualifies at), and an item at stage s may go to any member whose
tier is <= s. Tiers are recomputed only for the agent and queues a skill change touches.

An item may ask skills of its own (an IVR set them): they are merged with the queue's by ``item_levels``,
each skill at the higher of the two levels, and relax by the same rules. Higher only, on purpose: the
queue's levels are its admin's floor, and an agent who qualifies for the item at a stage then qualifies
for the queue at that stage too, so the tier indexes still hold every candidate and only need filtering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tvoxcc.queues.model import RelaxRule


def required_levels(skills: Mapping[str, int], relax: Sequence[RelaxRule], stage: int) -> dict[str, int]:
    if stage == 0:
        return dict(skills)
    ceiling = relax[stage - 1].min_level
    return {skill: min(level, ceiling) for skill, level in skills.items()}


def item_levels(queue_skills: Mapping[str, int], item_skills: Mapping[str, int]) -> dict[str, int]:
    """The levels an item asks in a queue: the queue's, raised or extended by the item's own."""
    levels = dict(queue_skills)
    for skill, level in item_skills.items():
        if level > levels.get(skill, 0):
            levels[skill] = level
    return levels


def qualifies(agent_skills: Mapping[str, int], required: Mapping[str, int]) -> bool:
    return all(agent_skills.get(skill, 0) >= level for skill, level in required.items())


def qualifying_tier(
    agent_skills: Mapping[str, int], skills: Mapping[str, int], relax: Sequence[RelaxRule]
) -> int | None:
    """The first stage at which the agent qualifies, None if never."""
    for stage in range(len(relax) + 1):
        if qualifies(agent_skills, required_levels(skills, relax, stage)):
            return stage
    return None


def stage_at(relax: Sequence[RelaxRule], queued_at: float, now: float) -> int:
    """How many relax rules are in force for an item queued at ``queued_at``.

    Written as ``queued_at + after_s <= now`` on purpose: the timers fire on the same float expression,
    so the stage a timer sets and the stage computed here always agree.
    """
    stage = 0
    for rule in relax:
        if queued_at + rule.after_s <= now:
            stage += 1
        else:
            break
    return stage
