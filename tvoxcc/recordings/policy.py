"""Which answered calls of a queue are recorded: pure rules, the draw for sampling injected."""

from __future__ import annotations

from enum import StrEnum


class RecordingPolicy(StrEnum):
    ALWAYS = "always"
    ON_DEMAND = "on-demand"  # only when the agent asks for it (not started at answer)
    NEVER = "never"
    SAMPLED = "sampled"  # a share of the calls, ``recording_sample_pct`` percent


def effective_policy(record: bool, policy: str | None) -> RecordingPolicy:
    """A queue's policy; without one the older ``record`` flag decides (on: always, off: never)."""
    if policy is not None:
        return RecordingPolicy(policy)
    return RecordingPolicy.ALWAYS if record else RecordingPolicy.NEVER


def records_at_answer(policy: RecordingPolicy, sample_pct: int, draw: float) -> bool:
    """Whether a call answered now is recorded from the start; ``draw`` is uniform in [0, 1)."""
    if policy is RecordingPolicy.ALWAYS:
        return True
    if policy is RecordingPolicy.SAMPLED:
        return draw * 100 < sample_pct
    return False


class RecordedLeg(StrEnum):
    """Whose audio a recording holds: the call's bridge mixed, or one party alone (a queue's ``record_legs``)."""

    MIXED = "mixed"
    CALLER = "caller"
    AGENT = "agent"
