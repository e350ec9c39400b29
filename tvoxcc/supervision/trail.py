"""What a listen session's row change means for the audit log, pure: one step each for requested, refused,
started, every mode change after the first (the first is the start's mode) and ended.

The store compares the row as it was (None for a new row) with the state it writes, so a save that changes
nothing writes no audit row, and a row written once with several steps (a phone request refused or started
at once) gets each of them, in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tvoxcc.audit.actions import AuditAction
from tvoxcc.audit.actors import phone_actor, web_actor
from tvoxcc.supervision.session import Origin, Phase


@dataclass(frozen=True, slots=True)
class Stored:
    """What the trail needs of a row as stored before a change."""

    phase: str
    modes: Sequence[Mapping[str, Any]]
    started: bool


@dataclass(frozen=True, slots=True)
class Step:
    action: AuditAction
    detail: dict[str, Any]


def steps(before: Stored | None, after: Mapping[str, Any], requested_mode: str) -> list[Step]:
    """``after``: the row's state columns as ``ListenStore`` writes them (phase, modes, started_at, …)."""
    found: list[Step] = []
    if before is None:
        found.append(Step(AuditAction.LISTEN_REQUESTED, {"mode": requested_mode}))
    old_phase = before.phase if before is not None else None
    phase = after["phase"]
    if phase == Phase.REFUSED and old_phase != Phase.REFUSED:
        found.append(Step(AuditAction.LISTEN_REFUSED, {"reason": after["refused"]}))
    modes: Sequence[Mapping[str, Any]] = after["modes"]
    if after["started_at"] is not None and not (before is not None and before.started):
        found.append(Step(AuditAction.LISTEN_STARTED, {"mode": modes[0]["mode"] if modes else requested_mode}))
    seen = len(before.modes) if before is not None else 0
    for change in modes[max(seen, 1) :]:
        found.append(Step(AuditAction.LISTEN_MODE, {"mode": change["mode"]}))
    if phase == Phase.ENDED and old_phase != Phase.ENDED:
        found.append(Step(AuditAction.LISTEN_ENDED, {"reason": after["end_reason"], "duration_s": after["duration_s"]}))
    return found


def actor(origin: str, supervisor: str) -> str:
    """The supervisor, as the audit log names people: ``phone:<user>`` or ``web:<user>``."""
    return web_actor(supervisor) if origin == Origin.WEB else phone_actor(supervisor)
