"""Bring a running router to the stored configuration: the changes between what it holds and what is stored.

Pure: ``changes(router, queues, agents)`` compares the router's queues, agents, skills, capacity and
memberships with freshly loaded configuration and returns the router calls that make them equal, in an order
that always works (queues before the memberships that name them, removals before additions). ``apply`` makes
one call. Nothing is ever reloaded: calls waiting, ringing or talking keep their place, which is why the
voice service can take a CLI change within seconds instead of a restart.

An agent that is no longer stored loses its memberships and is logged out (once nothing is in their hands:
a later pass does it after their call), so nothing new reaches them and the wallboard stops counting them; a
queue that is no longer stored keeps its state in the router but has no members left to route to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tvoxcc.queues.model import AgentConfig, Channel, Outputs, QueueConfig
from tvoxcc.queues.router import Router

Membership = tuple[str, int, int]  # queue, penalty, weight


@dataclass(frozen=True, slots=True)
class AddQueue:
    config: QueueConfig


@dataclass(frozen=True, slots=True)
class UpdateQueue:
    config: QueueConfig


@dataclass(frozen=True, slots=True)
class AddAgent:
    config: AgentConfig


@dataclass(frozen=True, slots=True)
class SetCapacity:
    agent_id: str
    capacity: Mapping[Channel, int]
    voice_blocks_others: bool


@dataclass(frozen=True, slots=True)
class SetSkill:
    agent_id: str
    skill: str
    level: int | None  # None: removed


@dataclass(frozen=True, slots=True)
class RemoveMember:
    agent_id: str
    queue: str


@dataclass(frozen=True, slots=True)
class AddMember:
    agent_id: str
    queue: str
    penalty: int
    weight: int


@dataclass(frozen=True, slots=True)
class Logout:
    agent_id: str


Change = AddQueue | UpdateQueue | AddAgent | SetCapacity | SetSkill | RemoveMember | AddMember | Logout


def changes(
    router: Router,
    queues: Iterable[QueueConfig],
    agents: Iterable[tuple[AgentConfig, Sequence[Membership]]],
) -> list[Change]:
    out: list[Change] = []
    for queue_config in queues:
        held = router.queue_view(queue_config.name)
        if held is None:
            out.append(AddQueue(queue_config))
        elif held.config != queue_config:
            out.append(UpdateQueue(queue_config))
    removals: list[Change] = []
    additions: list[Change] = []
    stored_agents = {config.agent_id: (config, memberships) for config, memberships in agents}
    for agent_id, (config, memberships) in stored_agents.items():
        agent = router.agent_view(agent_id)
        if agent is None:
            out.append(AddAgent(config))
            held_members: dict[str, tuple[int, int]] = {}
        else:
            if dict(agent.capacity) != dict(config.capacity) or agent.voice_blocks_others != config.voice_blocks_others:
                out.append(SetCapacity(agent_id, dict(config.capacity), config.voice_blocks_others))
            for skill in sorted(set(agent.skills) | set(config.skills)):
                if agent.skills.get(skill) != config.skills.get(skill):
                    out.append(SetSkill(agent_id, skill, config.skills.get(skill)))
            held_members = {m.queue: (m.penalty, m.weight) for m in agent.members}
        wanted = {queue: (penalty, weight) for queue, penalty, weight in memberships}
        for queue, terms in sorted(held_members.items()):
            if wanted.get(queue) != terms:  # gone, or new penalty/weight: out, then in again below
                removals.append(RemoveMember(agent_id, queue))
        for queue, (penalty, weight) in sorted(wanted.items()):
            if held_members.get(queue) != (penalty, weight):
                additions.append(AddMember(agent_id, queue, penalty, weight))
    for agent_id in router.agent_ids():
        if agent_id not in stored_agents:
            gone = router.agent_view(agent_id)
            assert gone is not None
            if gone.logged_in and not gone.connected and not gone.offered:
                removals.append(Logout(agent_id))
            removals.extend(RemoveMember(agent_id, m.queue) for m in gone.members)
    return out + removals + additions


def apply(router: Router, change: Change, now: float) -> Outputs:
    match change:
        case AddQueue(config=config):
            return router.add_queue(config, now)
        case UpdateQueue(config=config):
            return router.update_queue(config, now)
        case AddAgent(config=config):
            return router.add_agent(config, now)
        case SetCapacity(agent_id=agent_id, capacity=capacity, voice_blocks_others=blocks):
            return router.set_capacity(agent_id, capacity, now, voice_blocks_others=blocks)
        case SetSkill(agent_id=agent_id, skill=skill, level=level):
            return router.set_skill(agent_id, skill, level, now)
        case RemoveMember(agent_id=agent_id, queue=queue):
            return router.remove_member(agent_id, queue, now)
        case AddMember(agent_id=agent_id, queue=queue, penalty=penalty, weight=weight):
            return router.add_member(agent_id, queue, now, penalty=penalty, weight=weight)
        case Logout(agent_id=agent_id):
            return router.logout(agent_id, now)
