"""The hierarchy's links in the store: agents -> groups -> queues -> campaigns, and supervisors scoped to groups.

A group's queues (GroupQueue), its campaigns (CampaignGroup, the same link `campaign set --group` writes) and a
supervisor's groups (UserGroup) are read into the tenant document and written back from it, like every other
section: the CLI and the YAML file go through here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.spec import TenantDoc
from tvoxcc.store import models as m


@dataclass(frozen=True, slots=True)
class Links:
    """Names by owner name: a group's queues and campaigns, a user's groups."""

    group_queues: dict[str, list[str]] = field(default_factory=dict)
    group_campaigns: dict[str, list[str]] = field(default_factory=dict)
    user_groups: dict[str, list[str]] = field(default_factory=dict)


async def read_links(session: AsyncSession, tenant_id: int) -> Links:
    links = Links(defaultdict(list), defaultdict(list), defaultdict(list))
    queues = await session.execute(
        select(m.AgentGroup.name, m.Queue.name)
        .join(m.GroupQueue, m.GroupQueue.group_id == m.AgentGroup.id)
        .join(m.Queue, m.Queue.id == m.GroupQueue.queue_id)
        .where(m.AgentGroup.tenant_id == tenant_id)
        .order_by(m.AgentGroup.name, m.Queue.name)
    )
    for group, queue in queues.all():
        links.group_queues[group].append(queue)
    campaigns = await session.execute(
        select(m.AgentGroup.name, m.Campaign.name)
        .join(m.CampaignGroup, m.CampaignGroup.group_id == m.AgentGroup.id)
        .join(m.Campaign, m.Campaign.id == m.CampaignGroup.campaign_id)
        .where(m.AgentGroup.tenant_id == tenant_id)
        .order_by(m.AgentGroup.name, m.Campaign.name)
    )
    for group, campaign in campaigns.all():
        links.group_campaigns[group].append(campaign)
    users = await session.execute(
        select(m.User.username, m.AgentGroup.name)
        .join(m.UserGroup, m.UserGroup.user_id == m.User.id)
        .join(m.AgentGroup, m.AgentGroup.id == m.UserGroup.group_id)
        .where(m.AgentGroup.tenant_id == tenant_id)
        .order_by(m.User.username, m.AgentGroup.name)
    )
    for username, group in users.all():
        links.user_groups[username].append(group)
    return links


async def _ids(
    session: AsyncSession, model: type[m.Queue | m.AgentGroup | m.Campaign], tenant_id: int
) -> dict[str, int]:
    rows = await session.execute(select(model.name, model.id).where(model.tenant_id == tenant_id))
    return {str(name): int(row_id) for name, row_id in rows.all()}


async def write_links(session: AsyncSession, tenant_id: int, doc: TenantDoc, *, prune: bool) -> None:
    """Make the stored links those of ``doc`` (its groups' and users'); names are checked already, but for
    campaigns, which live outside the document: an unknown one raises AdminError naming where."""
    await session.flush()
    groups = await _ids(session, m.AgentGroup, tenant_id)
    queues = await _ids(session, m.Queue, tenant_id)
    campaigns = await _ids(session, m.Campaign, tenant_id)
    problems = [
        f"groups[{i}].campaigns[{k}]: unknown campaign {name!r} (`tvoxcc campaign add` first)"
        for i, g in enumerate(doc.groups)
        for k, name in enumerate(g.campaigns)
        if name not in campaigns
    ]
    if problems:
        raise AdminError(*problems)
    # Without prune, groups the document does not name keep their links; with it, they are about to go.
    touched = list(groups.values()) if prune else [groups[g.name] for g in doc.groups]
    await session.execute(delete(m.GroupQueue).where(m.GroupQueue.group_id.in_(touched)))
    await session.execute(delete(m.CampaignGroup).where(m.CampaignGroup.group_id.in_(touched)))
    for g in doc.groups:
        gid = groups[g.name]
        session.add_all(m.GroupQueue(tenant_id=tenant_id, group_id=gid, queue_id=queues[q]) for q in g.queues)
        session.add_all(
            m.CampaignGroup(tenant_id=tenant_id, group_id=gid, campaign_id=campaigns[c]) for c in g.campaigns
        )
    users = dict(
        (
            await session.execute(
                select(m.User.username, m.User.id).where(
                    m.User.tenant_id == tenant_id, m.User.username.in_([u.username for u in doc.users])
                )
            )
        ).all()
    )
    await session.execute(delete(m.UserGroup).where(m.UserGroup.user_id.in_(list(users.values()))))
    for u in doc.users:
        session.add_all(
            m.UserGroup(tenant_id=tenant_id, user_id=users[u.username], group_id=groups[g]) for g in u.groups
        )
    await session.flush()


async def _scoped(
    session: AsyncSession, user_id: int, role: str, names: Callable[[Select[int]], Select[str]]
) -> frozenset[str] | None:
    """``names`` of a supervisor's groups (given the query of their group ids); None: not scoped to groups."""
    if role != "supervisor":
        return None
    groups = select(m.UserGroup.group_id).where(m.UserGroup.user_id == user_id)
    if (await session.execute(groups.limit(1))).first() is None:
        return None
    return frozenset((await session.execute(names(groups))).scalars())


async def supervised_agents(session: AsyncSession, user_id: int, role: str) -> frozenset[str] | None:
    """The agents a supervisor scoped to groups sees (their groups' members); None: not scoped, every agent."""
    return await _scoped(
        session,
        user_id,
        role,
        lambda groups: (
            select(m.Agent.name)
            .join(m.GroupMember, m.GroupMember.agent_id == m.Agent.id)
            .where(m.GroupMember.group_id.in_(groups))
        ),
    )


async def supervised_queues(session: AsyncSession, user_id: int, role: str) -> frozenset[str] | None:
    """The queues a supervisor scoped to groups sees (those linked to their groups); None: not scoped, every one."""
    return await _scoped(
        session,
        user_id,
        role,
        lambda groups: (
            select(m.Queue.name)
            .join(m.GroupQueue, m.GroupQueue.queue_id == m.Queue.id)
            .where(m.GroupQueue.group_id.in_(groups))
        ),
    )


async def working_queues(session: AsyncSession, campaign_id: int) -> list[str]:
    """The queues whose agents work a campaign: its own, and those of the groups given to it (a campaign's
    agents given by groups are those groups' queues' agents: its calls are work items of those queues)."""
    own = select(m.CampaignQueue.queue_id).where(m.CampaignQueue.campaign_id == campaign_id)
    by_group = (
        select(m.GroupQueue.queue_id)
        .join(m.CampaignGroup, m.CampaignGroup.group_id == m.GroupQueue.group_id)
        .where(m.CampaignGroup.campaign_id == campaign_id)
    )
    names = await session.execute(
        select(m.Queue.name).where(m.Queue.id.in_(own.union(by_group))).order_by(m.Queue.name)
    )
    return list(names.scalars())
