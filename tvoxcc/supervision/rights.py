"""Who may listen to whom: a pure rule over the requester (tvoxcc.web.access.Principal) and the agent.

Only a supervisor or an admin who sees the agent's tenant (the same rule as the web API's), and a supervisor
scoped to groups only an agent of those groups; never on their own call. The phone path (*80/*81/*82) and the
web path ask the same question here.
"""

from __future__ import annotations

from dataclasses import dataclass

from tvoxcc.supervision.session import Refusal
from tvoxcc.web.access import Principal


@dataclass(frozen=True, slots=True)
class Target:
    """The agent listened to."""

    tenant_id: int
    tenant: str
    name: str
    extension: str

    @property
    def endpoint(self) -> str:
        return f"{self.tenant}-{self.name}"  # the agent's PJSIP endpoint (configs/pjsip.conf.j2)


def refusal(requester: Principal | None, target: Target | None) -> Refusal | None:
    """Why the request is refused; None when it is allowed."""
    if requester is None:
        return Refusal.UNKNOWN_SUPERVISOR
    if not requester.sees_whole_tenant:
        return Refusal.NOT_SUPERVISOR
    if target is None:
        return Refusal.UNKNOWN_AGENT
    if not requester.sees_tenant(target.tenant_id):
        return Refusal.OTHER_TENANT
    if requester.tenant_id == target.tenant_id and requester.agent == target.name:
        return Refusal.OWN_CALL
    if not requester.sees_agent(target.name):
        return Refusal.OUT_OF_SCOPE
    return None
