"""A campaign's settings as stored (JSON) and as written on the command line, to and from the core's values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import time
from typing import Any

from tvoxcc.campaigns.model import (
    END_OF_DAY,
    MIN_RING_S,
    AbandonRule,
    CallWindow,
    DialMode,
    MachineAction,
    PacingConfig,
    RetryRules,
)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RETRY_OUTCOMES = ("busy", "no-answer", "machine", "failed")
_WINDOW = re.compile(r"^\s*(\w{3})(?:-(\w{3}))?\s+(\d{1,2}:\d{2})-(\d{1,2}:\d{2})\s*$")


class SpecError(ValueError):
    pass


def parse_window(text: str) -> CallWindow:
    """'mon-fri 09:00-20:00' (days inclusive, hours local to the called party, the end excluded; 24:00 is
    midnight at the day's end)."""
    match = _WINDOW.match(text.lower())
    if match is None:
        raise SpecError(f"window {text!r}: write it as 'mon-fri 09:00-20:00'")
    first, last, start, end = match.groups()
    for day in (first, last or first):
        if day not in DAYS:
            raise SpecError(f"window {text!r}: {day!r} is not a day ({', '.join(DAYS)})")
    a, b = DAYS.index(first), DAYS.index(last or first)
    days = frozenset(range(a, b + 1)) if a <= b else frozenset([*range(a, 7), *range(b + 1)])
    try:
        opens = time.fromisoformat(start.zfill(5))
        closes = END_OF_DAY if end == "24:00" else time.fromisoformat(end.zfill(5))
    except ValueError as exc:
        raise SpecError(f"window {text!r}: {exc} (hours from 00:00 to 24:00)") from exc
    if opens >= closes:
        raise SpecError(f"window {text!r}: it closes before it opens")
    return CallWindow(days=days, start=opens, end=closes)


def format_window(window: CallWindow) -> str:
    days = sorted(window.days)
    spans = f"{DAYS[days[0]]}-{DAYS[days[-1]]}" if len(days) > 1 else DAYS[days[0]]
    if days != list(range(days[0], days[-1] + 1)):
        spans = ",".join(DAYS[d] for d in days)
    end = "24:00" if window.end == END_OF_DAY else f"{window.end:%H:%M}"
    return f"{spans} {window.start:%H:%M}-{end}"


def parse_retry(text: str) -> tuple[str, float | None]:
    """'busy=600' (seconds), 'no-answer=never', or a disposition 'call-later=3600'."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise SpecError(f"retry {text!r}: write it as OUTCOME=SECONDS (or =never)")
    if value == "never":
        return key, None
    try:
        seconds = float(value)
    except ValueError:
        raise SpecError(f"retry {text!r}: {value!r} is not a number of seconds") from None
    if seconds < 0:
        raise SpecError(f"retry {text!r}: seconds must not be negative")
    return key, seconds


@dataclass(frozen=True, slots=True)
class CampaignSettings:
    window: CallWindow = field(default_factory=CallWindow)
    retry: RetryRules = field(default_factory=RetryRules)
    ring_s: float = 25.0
    wrapup_s: float = 10.0
    machine_action: MachineAction = MachineAction.RETRY
    amd_false_positive_rate: float = 0.05
    target_abandon_rate: float = 0.02
    abandon_message: str = "campaign-abandon"  # the prompt naming the caller, played to an abandoned person

    def with_retries(self, pairs: list[tuple[str, float | None]], max_attempts: int | None) -> CampaignSettings:
        outcomes = {k.replace("-", "_") + "_s": v for k, v in pairs if k in RETRY_OUTCOMES}
        dispositions = dict(self.retry.dispositions) | {k: v for k, v in pairs if k not in RETRY_OUTCOMES}
        retry = replace(self.retry, dispositions=dispositions, **outcomes)  # type: ignore[arg-type]
        if max_attempts is not None:
            if max_attempts < 1:
                raise SpecError("max attempts must be at least 1")
            retry = replace(retry, max_attempts=max_attempts)
        return replace(self, retry=retry)

    def check(self) -> None:
        if self.ring_s < MIN_RING_S:
            raise SpecError(f"ring time {self.ring_s:g} s: an unanswered call must ring at least {MIN_RING_S:g} s")
        if not 0 <= self.amd_false_positive_rate <= 1:
            raise SpecError("the AMD false-positive estimate must be between 0 and 1")

    def pacing(self, mode: DialMode, rule: AbandonRule) -> PacingConfig:
        return PacingConfig(
            mode=mode,
            rule=rule,
            ring_s=self.ring_s,
            wrapup_s=self.wrapup_s,
            target_abandon_rate=self.target_abandon_rate,
            amd_false_positive_rate=self.amd_false_positive_rate,
            machine_action=self.machine_action,
        )

    def to_json(self) -> dict[str, Any]:
        r = self.retry
        return {
            "window": format_window(self.window),
            "max_attempts": r.max_attempts,
            "retry": {"busy": r.busy_s, "no-answer": r.no_answer_s, "machine": r.machine_s, "failed": r.failed_s},
            "dispositions": dict(r.dispositions),
            "ring_s": self.ring_s,
            "wrapup_s": self.wrapup_s,
            "machine_action": self.machine_action.value,
            "amd_false_positive_rate": self.amd_false_positive_rate,
            "target_abandon_rate": self.target_abandon_rate,
            "abandon_message": self.abandon_message,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CampaignSettings:
        default = cls()
        retry = data.get("retry", {})
        rules = RetryRules(
            max_attempts=int(data.get("max_attempts", default.retry.max_attempts)),
            busy_s=retry.get("busy", default.retry.busy_s),
            no_answer_s=retry.get("no-answer", default.retry.no_answer_s),
            machine_s=retry.get("machine", default.retry.machine_s),
            failed_s=retry.get("failed", default.retry.failed_s),
            dispositions=dict(data.get("dispositions", {})),
        )
        return cls(
            window=parse_window(data["window"]) if "window" in data else default.window,
            retry=rules,
            ring_s=float(data.get("ring_s", default.ring_s)),
            wrapup_s=float(data.get("wrapup_s", default.wrapup_s)),
            machine_action=MachineAction(data.get("machine_action", default.machine_action)),
            amd_false_positive_rate=float(data.get("amd_false_positive_rate", default.amd_false_positive_rate)),
            target_abandon_rate=float(data.get("target_abandon_rate", default.target_abandon_rate)),
            abandon_message=str(data.get("abandon_message", default.abandon_message)),
        )
