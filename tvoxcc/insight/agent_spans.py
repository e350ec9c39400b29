"""Agent time from the event stream: measured wrap-ups per contact, pause spans and agent-state spans.

Their definitions are metrics' (tvoxcc.insight.metrics): pauses by activity code and states from
``agent-status`` events, each clipped to the report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from tvoxcc.insight.buckets import seconds
from tvoxcc.insight.event_kinds import (
    AGENT_STATUS,
    COMPLETED,
    LOGGED_OUT,
    PAUSED,
    UNPAUSED,
    WRAPUP_ENDED,
    WRAPUP_STARTED,
)
from tvoxcc.insight.figures import NONE
from tvoxcc.insight.model import Event, Params
from tvoxcc.queues.model import AgentStatus


def measured_wrapups(events: Iterable[Event]) -> dict[int, float]:
    """Measured wrap-up seconds per contact, from each agent's completed → wrap-up started/ended events."""
    by_agent: defaultdict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e.agent and e.kind in (COMPLETED, WRAPUP_STARTED, WRAPUP_ENDED):
            by_agent[e.agent].append(e)
    result: dict[int, float] = {}
    for agent_events in by_agent.values():
        last_completed: int | None = None
        open_: tuple[int, Event] | None = None
        for e in sorted(agent_events, key=lambda e: e.at):
            if e.kind == COMPLETED:
                last_completed = e.interaction_id
            elif e.kind == WRAPUP_STARTED:
                owner = e.interaction_id or last_completed
                if open_ is not None and open_[1].value is not None:
                    result[open_[0]] = open_[1].value
                open_ = (owner, e) if owner is not None else None
            elif open_ is not None:  # wrapup-ended
                result[open_[0]] = seconds(open_[1].at, e.at)
                open_ = None
        if open_ is not None and open_[1].value is not None:
            result[open_[0]] = open_[1].value
    return result


def state_spans(events: Iterable[Event], params: Params) -> list[tuple[str, str, datetime, datetime]]:
    """(agent, state, begin, end) spans from ``agent-status`` events, clipped to the report; no logged-out."""
    spans: list[tuple[str, str, datetime, datetime]] = []
    open_: dict[str, tuple[str, datetime]] = {}
    for e in sorted((e for e in events if e.agent and e.kind == AGENT_STATUS), key=lambda e: e.at):
        assert e.agent is not None
        _close(spans, open_, e.agent, e.at, params)
        if e.detail and e.detail != AgentStatus.LOGGED_OUT:
            open_[e.agent] = (e.detail, e.at)
    for agent in list(open_):
        _close(spans, open_, agent, params.end, params)
    return spans


def _close(
    spans: list[tuple[str, str, datetime, datetime]],
    open_: dict[str, tuple[str, datetime]],
    agent: str,
    at: datetime,
    params: Params,
) -> None:
    started = open_.pop(agent, None)
    if started is None:
        return
    begin, end = max(started[1], params.start), min(at, params.end)
    if begin < end:
        spans.append((agent, started[0], begin, end))


def pause_spans(events: Iterable[Event], params: Params) -> list[tuple[str, str, datetime, datetime]]:
    """(agent, code, begin, end) pause spans clipped to the report; events before it tell who was paused."""
    spans: list[tuple[str, str, datetime, datetime]] = []
    open_: dict[str, tuple[str, datetime]] = {}
    for e in sorted((e for e in events if e.agent and e.kind in (PAUSED, UNPAUSED, LOGGED_OUT)), key=lambda e: e.at):
        assert e.agent is not None
        _close(spans, open_, e.agent, e.at, params)
        if e.kind == PAUSED:
            open_[e.agent] = (e.detail or NONE, e.at)
    for agent in list(open_):
        _close(spans, open_, agent, params.end, params)
    return spans
