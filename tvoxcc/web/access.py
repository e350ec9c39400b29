"""Who may see what: pure rules over the logged-in user, used by every route.

- admin: every tenant, everything;
- supervisor: their tenant's queues, agents and figures; one scoped to groups (``scope``) only those groups'
  agents (their state, recordings, calls to listen to) and the figures of those agents, and only the queues
  linked to those groups (``scope_queues``);
- agent (and support): in their tenant only the queues they serve and their own state and figures.
Another tenant is answered as if it did not exist (404), never with its data.
"""

from __future__ import annotations

from dataclasses import dataclass

ADMIN, SUPERVISOR = "admin", "supervisor"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    role: str
    tenant_id: int | None  # None: an admin of every tenant
    tenant: str | None
    agent: str | None = None  # the agent this user works as (name in the tenant)
    agent_queues: frozenset[str] = frozenset()  # the queues that agent serves
    # A supervisor scoped to groups: the agents of those groups (tvoxcc.admin.hierarchy); None: every agent.
    scope: frozenset[str] | None = None
    scope_queues: frozenset[str] | None = None  # and the queues of those groups; None: every queue

    @property
    def sees_whole_tenant(self) -> bool:
        return self.role in (ADMIN, SUPERVISOR)

    def sees_tenant(self, tenant_id: int) -> bool:
        return self.role == ADMIN or self.tenant_id == tenant_id

    def sees_queue(self, queue: str) -> bool:
        if self.sees_whole_tenant:
            return self.scope_queues is None or queue in self.scope_queues
        return queue in self.agent_queues

    def sees_agent(self, agent: str) -> bool:
        if self.sees_whole_tenant:
            return self.scope is None or agent in self.scope
        return agent == self.agent

    @property
    def visible_agents(self) -> frozenset[str] | None:
        """The only agents whose calls and recordings this user may have; None: every agent of the tenant."""
        if self.sees_whole_tenant:
            return self.scope
        return frozenset({self.agent}) if self.agent else frozenset()

    def as_json(self) -> dict[str, object]:
        scoped: dict[str, object] = {}  # a supervisor scoped to groups: their agents and queues
        if self.scope is not None:
            scoped["scope"] = sorted(self.scope)
        if self.scope_queues is not None:
            scoped["scope_queues"] = sorted(self.scope_queues)
        return {
            "username": self.username,
            "role": self.role,
            "tenant": self.tenant,
            "agent": self.agent,
            "queues": sorted(self.agent_queues) if not self.sees_whole_tenant else None,
            **scoped,
        }
