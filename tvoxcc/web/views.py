"""What the API and the wallboard show, as plain JSON-ready values: pure functions of config, state and time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tvoxcc.queues.model import AgentStatus
from tvoxcc.web.access import Principal
from tvoxcc.web.live import TenantState

LOGGED_OUT = AgentStatus.LOGGED_OUT  # an agent with no live row


@dataclass(frozen=True, slots=True)
class AgentConfig:
    display_name: str
    queues: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TenantConfig:
    """A tenant's configured queues and agents: the wallboard lists them even before any live snapshot."""

    tenant_id: int
    name: str
    timezone: str
    queues: tuple[str, ...]
    agents: Mapping[str, AgentConfig]


def _age(then: datetime | None, now: datetime) -> float | None:
    return None if then is None else round(max(0.0, (now - then).total_seconds()), 1)


def agent_views(
    config: TenantConfig, state: TenantState, now: datetime, who: Principal, queue: str | None = None
) -> list[dict[str, Any]]:
    out = []
    for name, agent in sorted(config.agents.items()):
        live = state.agents.get(name)
        queues = live.queues if live is not None else agent.queues
        if not who.sees_agent(name) or (queue is not None and queue not in queues):
            continue
        out.append(
            {
                "name": name,
                "display_name": agent.display_name,
                "state": live.state if live else LOGGED_OUT,
                "reason": live.reason if live else None,
                "in_state_s": _age(live.since, now) if live else None,
                "queues": list(queues),
            }
        )
    return out


def queue_views(
    config: TenantConfig, state: TenantState, now: datetime, who: Principal, queue: str | None = None
) -> list[dict[str, Any]]:
    out = []
    for name in config.queues:
        if not who.sees_queue(name) or (queue is not None and name != queue):
            continue
        live = state.queues.get(name)
        view: dict[str, Any] = {
            "name": name,
            "waiting": live.waiting if live else 0,
            "longest_wait_s": _age(live.oldest_at, now) if live else None,
        }
        if who.sees_whole_tenant:  # counts of other agents are not an agent's own figures
            members = agent_views(config, state, now, who, name)
            view["agents"] = dict(sorted(Counter(a["state"] for a in members).items()))
        out.append(view)
    return out


def live_view(
    config: TenantConfig, state: TenantState, now: datetime, who: Principal, queue: str | None = None
) -> dict[str, Any]:
    return {
        "tenant": config.name,
        "queue": queue,
        "version": state.version,
        "as_of": now.isoformat(),
        "queues": queue_views(config, state, now, who, queue),
        "agents": agent_views(config, state, now, who, queue),
    }


def agents_by_state(config: TenantConfig, state: TenantState) -> dict[str, int]:
    counts = Counter(state.agents[a].state if a in state.agents else LOGGED_OUT for a in config.agents)
    return dict(sorted(counts.items()))
