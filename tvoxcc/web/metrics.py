"""Prometheus text exposition (format 0.0.4) of the live state and today's counts: pure rendering."""

from __future__ import annotations

from collections.abc import Iterable

Sample = tuple[str, dict[str, str], float]  # metric name, labels, value

HELP = {
    "tvoxcc_queue_waiting": ("gauge", "Callers waiting in the queue now (ringing ones included)."),
    "tvoxcc_queue_longest_wait_seconds": ("gauge", "Wait of the longest waiting caller now."),
    "tvoxcc_agents": ("gauge", "Agents per state now."),
    "tvoxcc_queue_offered_today": ("gauge", "Contacts offered to the queue today (tenant's day)."),
    "tvoxcc_queue_answered_today": ("gauge", "Contacts answered today."),
    "tvoxcc_queue_abandoned_today": ("gauge", "Contacts abandoned today (short abandons left out)."),
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(samples: Iterable[Sample]) -> str:
    by_name: dict[str, list[tuple[dict[str, str], float]]] = {}
    for name, labels, value in samples:
        by_name.setdefault(name, []).append((labels, value))
    lines = []
    for name, (kind, text) in HELP.items():
        lines.append(f"# HELP {name} {text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in by_name.get(name, []):
            inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
            lines.append(f"{name}{{{inner}}} {value:g}")
    return "\n".join(lines) + "\n"
