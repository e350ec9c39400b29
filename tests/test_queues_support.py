"""Shared helpers for the queue core tests (no tests here)."""

from __future__ import annotations

import random
from collections.abc import Iterable

from tvoxcc.queues.model import AgentConfig, Channel, Offer, Outputs, QueueConfig, WorkItem
from tvoxcc.queues.router import Router


def router_with(
    queues: Iterable[QueueConfig],
    agents: Iterable[AgentConfig | str] = (),
    *,
    members: dict[str, list[str]] | None = None,
    login: bool = True,
    seed: int = 1,
    router_class: type[Router] = Router,
) -> Router:
    """A router at t=0 with the queues, agents (logged in at t=0 unless login=False) and memberships."""
    router = router_class(random.Random(seed))
    queue_names = []
    for queue in queues:
        router.add_queue(queue, 0.0)
        queue_names.append(queue.name)
    for agent in agents:
        config = AgentConfig(agent) if isinstance(agent, str) else agent
        router.add_agent(config, 0.0)
        for queue_name in (members or {}).get(config.agent_id, queue_names):
            router.add_member(config.agent_id, queue_name, 0.0)
        if login:
            router.login(config.agent_id, 0.0)
    return router


def offers(out: Outputs) -> list[tuple[str, str]]:
    return [(c.item_id, c.agent_id) for c in out.commands if isinstance(c, Offer)]


def call(item_id: str, queue: str = "q", **kwargs: object) -> WorkItem:
    return WorkItem(item_id, queue, **kwargs)  # type: ignore[arg-type]


def item(item_id: str, queue: str, channel: Channel, priority: int = 0) -> WorkItem:
    return WorkItem(item_id, queue, channel, contact_priority=priority)
