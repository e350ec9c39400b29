"""Checks across a tenant document: duplicates and references. Pure functions, no I/O.

Every problem is one line ``path: why``, the path as it stands in the YAML file
(``queues[2].skills.english``), so an admin can find it at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Literal

from tvoxcc.admin.spec import TenantDoc
from tvoxcc.ivr.checks import check_flow

Kind = Literal["service", "skill", "group", "queue", "agent", "activity-code"]


def _duplicates(section: str, field: str, values: Iterable[str]) -> list[str]:
    values = list(values)
    counts = Counter(values)
    problems = []
    for index, value in enumerate(values):
        if counts[value] > 1:
            first = values.index(value)
            if index != first:
                problems.append(f"{section}[{index}].{field}: duplicate {value!r} (also {section}[{first}])")
    return problems


def check_document(doc: TenantDoc) -> list[str]:
    problems: list[str] = []
    problems += _duplicates("services", "name", (s.name for s in doc.services))
    problems += _duplicates("skills", "name", (s.name for s in doc.skills))
    problems += _duplicates("groups", "name", (g.name for g in doc.groups))
    problems += _duplicates("queues", "name", (q.name for q in doc.queues))
    problems += _duplicates("agents", "name", (a.name for a in doc.agents))
    problems += _duplicates("agents", "extension", (a.extension for a in doc.agents))
    problems += _duplicates("users", "username", (u.username for u in doc.users))
    problems += _duplicates("activity_codes", "code", (c.code for c in doc.activity_codes))
    problems += _duplicates("activity_codes", "name", (c.name for c in doc.activity_codes))

    seen_dids: dict[str, str] = {}
    for i, service in enumerate(doc.services):
        for j, did in enumerate(service.dids):
            path = f"services[{i}].dids[{j}]"
            if did in seen_dids:
                problems.append(f"{path}: DID {did!r} already routes to {seen_dids[did]}")
            seen_dids[did] = f"service {service.name!r}"

    services = {s.name for s in doc.services}
    skills = {s.name for s in doc.skills}
    groups = {g.name for g in doc.groups}
    queues = {q.name for q in doc.queues}
    agents = {a.name for a in doc.agents}
    ivr_nodes = {f.service: set(f.nodes) for f in doc.ivrs}

    for i, queue in enumerate(doc.queues):
        path = f"queues[{i}]"
        if queue.service not in services:
            problems.append(f"{path}.service: unknown service {queue.service!r}")
        for skill in queue.skills:
            if skill not in skills:
                problems.append(f"{path}.skills.{skill}: unknown skill {skill!r}")
        previous = None
        for k, rule in enumerate(queue.relax):
            if previous and (rule.after_seconds <= previous[0] or rule.min_level >= previous[1]):
                problems.append(
                    f"{path}.relax[{k}]: each rule must come later and accept a lower level than the one before"
                )
            previous = (rule.after_seconds, rule.min_level)
        for k, overflow in enumerate(queue.overflow):
            if overflow.action == "queue" and overflow.target not in queues:
                problems.append(f"{path}.overflow[{k}].target: unknown queue {overflow.target!r}")
            elif overflow.action == "queue" and overflow.target == queue.name:
                problems.append(f"{path}.overflow[{k}].target: a queue cannot overflow into itself")
            elif overflow.action == "ivr" and overflow.target not in ivr_nodes.get(queue.service, set()):
                problems.append(
                    f"{path}.overflow[{k}].target: no node {overflow.target!r} in the IVR of service {queue.service!r}"
                )

    for i, agent in enumerate(doc.agents):
        path = f"agents[{i}]"
        for skill in agent.skills:
            if skill not in skills:
                problems.append(f"{path}.skills.{skill}: unknown skill {skill!r}")
        problems += _duplicates(f"{path}.queues", "queue", (m.queue for m in agent.queues))
        for k, membership in enumerate(agent.queues):
            if membership.queue not in queues:
                problems.append(f"{path}.queues[{k}]: unknown queue {membership.queue!r}")
        for k, group in enumerate(agent.groups):
            if group not in groups:
                problems.append(f"{path}.groups[{k}]: unknown group {group!r}")
        if not any(agent.capacity.values()):
            problems.append(f"{path}.capacity: the agent could never take any work (all capacities are 0)")

    problems += _duplicates("campaigns", "name", (c.name for c in doc.campaigns))
    for i, campaign in enumerate(doc.campaigns):
        for k, queue_name in enumerate(campaign.queues):
            if queue_name not in queues:
                problems.append(f"campaigns[{i}].queues[{k}]: unknown queue {queue_name!r}")

    problems += _duplicates("scripts", "name", (s.name for s in doc.scripts))
    campaigns, held = {c.name for c in doc.campaigns}, dict[str, str]()
    for i, script in enumerate(doc.scripts):
        if script.campaign is not None and script.campaign not in campaigns:
            problems.append(f"scripts[{i}].campaign: unknown campaign {script.campaign!r}")
        if script.queue is not None and script.queue not in queues:
            problems.append(f"scripts[{i}].queue: unknown queue {script.queue!r}")
        target = f"campaign {script.campaign!r}" if script.campaign else f"queue {script.queue!r}"
        if target in held:
            problems.append(f"scripts[{i}]: {target} has script {held[target]!r} already (one script each)")
        held.setdefault(target, script.name)

    for i, team in enumerate(doc.groups):
        problems += _duplicates(f"groups[{i}].queues", "queue", team.queues)
        problems += _duplicates(f"groups[{i}].campaigns", "campaign", team.campaigns)
        for k, queue_name in enumerate(team.queues):
            if queue_name not in queues:
                problems.append(f"groups[{i}].queues[{k}]: unknown queue {queue_name!r}")

    for i, user in enumerate(doc.users):
        if user.agent is not None and user.agent not in agents:
            problems.append(f"users[{i}].agent: unknown agent {user.agent!r}")
        if user.groups and user.role != "supervisor":
            problems.append(f"users[{i}].groups: only a supervisor is scoped to groups (this user is {user.role})")
        for k, group_name in enumerate(user.groups):
            if group_name not in groups:
                problems.append(f"users[{i}].groups[{k}]: unknown group {group_name!r}")

    problems += _duplicates("prompts", "name+language", (f"{p.name}/{p.language}" for p in doc.prompts))
    problems += _duplicates("ivrs", "service", (f.service for f in doc.ivrs))
    prompt_names = {p.name for p in doc.prompts}

    def prompt_exists(name: str) -> bool:
        return name.startswith(("sound:", "digits:")) or name in prompt_names

    for i, flow in enumerate(doc.ivrs):
        if flow.service not in services:
            problems.append(f"ivrs[{i}].service: unknown service {flow.service!r}")
        problems += [f"ivrs[{i}].{p}" for p in check_flow(flow, queues=queues, prompt_exists=prompt_exists)]
    return problems


def references(doc: TenantDoc, kind: Kind, name: str) -> list[str]:
    """What in the document still refers to ``name``; removing it must refuse while this is not empty."""
    found: list[str] = []
    if kind == "service":
        found += [f"queue {q.name!r}" for q in doc.queues if q.service == name]
        found += [f"the IVR of service {f.service!r}" for f in doc.ivrs if f.service == name]
    elif kind == "skill":
        found += [f"queue {q.name!r}" for q in doc.queues if name in q.skills]
        found += [f"agent {a.name!r}" for a in doc.agents if name in a.skills]
    elif kind == "group":
        found += [f"agent {a.name!r}" for a in doc.agents if name in a.groups]
        found += [f"user {u.username!r}" for u in doc.users if name in u.groups]
    elif kind == "queue":
        found += [f"agent {a.name!r}" for a in doc.agents if any(m.queue == name for m in a.queues)]
        found += [f"group {g.name!r}" for g in doc.groups if name in g.queues]
        found += [f"campaign {c.name!r}" for c in doc.campaigns if name in c.queues]
        found += [f"script {s.name!r}" for s in doc.scripts if s.queue == name]
        found += [
            f"the IVR of service {f.service!r} (node {node_id!r})"
            for f in doc.ivrs
            for node_id, node in f.nodes.items()
            if getattr(node, "queue", None) == name
        ]
        found += [
            f"queue {q.name!r} (overflow)"
            for q in doc.queues
            if any(o.action == "queue" and o.target == name for o in q.overflow)
        ]
    elif kind == "agent":
        found += [f"user {u.username!r}" for u in doc.users if u.agent == name]
    return found
