"""The campaign core's vocabulary and configuration: modes, outcomes, record states, retry rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum

# The abandon rule's fixed numbers (47 CFR 64.1200(a)(7) in the US, Ofcom's persistent misuse policy in the UK).
ABANDON_LIMIT = 0.03  # abandoned calls / live-answered calls over the rule's window
CONNECT_WITHIN_S = 2.0  # a person answered and no agent within this: an abandoned call
ABANDON_HOLD_S = 72 * 3600.0  # an abandoned number is not called again for 72 hours
MIN_RING_S = 15.0  # an unanswered call rings at least this long before the dialer gives it up


class DialMode(StrEnum):
    PREVIEW = "preview"  # the agent sees the record, then dials (or skips)
    PROGRESSIVE = "progressive"  # one line per free agent, the agent reserved before dialling
    PREDICTIVE = "predictive"  # more lines than free agents, paced by the abandon ledger


class AbandonRule(StrEnum):
    US_30_DAYS = "rolling-30-days"  # TCPA/TSR: ≤ 3% of live-answered calls over 30 days, per campaign
    UK_24_HOURS = "24-hours"  # Ofcom: ≤ 3% over 24 hours, counting an estimate of AMD false positives


RULE_WINDOW_S: Mapping[AbandonRule, float] = {
    AbandonRule.US_30_DAYS: 30 * 86400.0,
    AbandonRule.UK_24_HOURS: 86400.0,
}


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class LineOutcome(StrEnum):
    """How one dialled line ended before (or at) the connection."""

    HUMAN = "human"  # answered by a person (AMD said human, or no AMD)
    MACHINE = "machine"  # answered by an answering machine (AMD)
    BUSY = "busy"
    NO_ANSWER = "no-answer"  # rang the campaign's ring time (≥ 15 s) unanswered
    FAILED = "failed"  # congestion, bad number, the trunk refused it
    ABANDONED = "abandoned"  # a person answered and no agent came within 2 s


# Q.850 causes of a line that was never answered (a dialer's line, or a preview's click-to-call).
BUSY_CAUSES = frozenset({17})
NO_ANSWER_CAUSES = frozenset({18, 19, 0})  # 0: the originate's own timeout ended it


def unanswered_outcome(cause: int) -> LineOutcome:
    if cause in BUSY_CAUSES:
        return LineOutcome.BUSY
    if cause in NO_ANSWER_CAUSES:
        return LineOutcome.NO_ANSWER
    return LineOutcome.FAILED


class RecordState(StrEnum):
    PENDING = "pending"  # to dial now or at next_at
    PREVIEWING = "previewing"  # shown to an agent (preview mode) who has not dialled or skipped it yet
    DIALING = "dialing"  # a line is ringing it
    CONNECTED = "connected"  # an agent is talking to it (or wrapping it up)
    DONE = "done"  # final: reached, a final disposition
    EXHAUSTED = "exhausted"  # final: max attempts reached
    DO_NOT_CALL = "do-not-call"  # final: on the tenant's do-not-call list at dial time


FINAL_STATES: frozenset[RecordState] = frozenset({RecordState.DONE, RecordState.EXHAUSTED, RecordState.DO_NOT_CALL})


class MachineAction(StrEnum):
    HANG_UP = "hang-up"  # and the record is final (done)
    LEAVE_MESSAGE = "leave-message"  # play the campaign's message, then the record is final (done)
    RETRY = "retry"  # hang up and retry as the retry rules say


@dataclass(frozen=True, slots=True)
class RetryRules:
    """Seconds until the next attempt per outcome (None: the record is final), and the attempt cap."""

    max_attempts: int = 3
    busy_s: float | None = 600.0
    no_answer_s: float | None = 3600.0
    machine_s: float | None = 7200.0
    failed_s: float | None = 1800.0
    # Disposition code -> seconds until a retry; a code not listed (or None) makes the record final.
    dispositions: Mapping[str, float | None] = field(default_factory=dict)

    def delay_for(self, outcome: LineOutcome) -> float | None:
        if outcome is LineOutcome.BUSY:
            return self.busy_s
        if outcome is LineOutcome.NO_ANSWER:
            return self.no_answer_s
        if outcome is LineOutcome.MACHINE:
            return self.machine_s
        if outcome is LineOutcome.FAILED:
            return self.failed_s
        if outcome is LineOutcome.ABANDONED:
            return ABANDON_HOLD_S  # the law's hold; the number's hold keeps it whatever this says
        return None


# A window's end at midnight ("24:00"): time has no 24:00, and 23:59 would leave the last minute of every day shut.
END_OF_DAY = time.max


@dataclass(frozen=True, slots=True)
class CallWindow:
    """When a record may be called, in the called party's local time: weekdays (0 = Monday) and hours, the end
    excluded (``END_OF_DAY``: until midnight, written 24:00)."""

    days: frozenset[int] = frozenset(range(5))
    start: time = time(9, 0)
    end: time = time(20, 0)

    def is_open_at(self, local: time) -> bool:
        return self.start <= local and (local < self.end or self.end == END_OF_DAY)


@dataclass(frozen=True, slots=True)
class PacingConfig:
    mode: DialMode = DialMode.PROGRESSIVE
    rule: AbandonRule = AbandonRule.US_30_DAYS
    ring_s: float = 25.0  # how long an unanswered line rings (never below MIN_RING_S)
    wrapup_s: float = 10.0  # the agents' wrap-up after a campaign call, for the pacing's forecast
    # The expected abandon rate predictive pacing aims at (below the 3% limit, for the variance it cannot see).
    target_abandon_rate: float = 0.02
    max_lines_per_agent: float = 4.0
    # UK rule: the share of machine-classified answers that were in fact people (Ofcom asks for a reasoned estimate).
    amd_false_positive_rate: float = 0.05
    machine_action: MachineAction = MachineAction.RETRY

    def __post_init__(self) -> None:
        if self.ring_s < MIN_RING_S:
            raise ValueError(f"ring time {self.ring_s:g} s is below the {MIN_RING_S:g} s an unanswered call must ring")
        if not 0 <= self.target_abandon_rate <= ABANDON_LIMIT:
            raise ValueError(f"target abandon rate {self.target_abandon_rate} is outside 0..{ABANDON_LIMIT}")
