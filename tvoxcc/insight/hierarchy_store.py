"""The talks of a tenant's days from the store (interactions and campaign lines), and who is in which group:
the inputs of tvoxcc.insight.hierarchy."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import or_, select

from tvoxcc.insight.hierarchy import HierarchyDimension, Talk, TalkFigures, by_hierarchy
from tvoxcc.insight.store import day_range, find_tenant
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


def _utc(at: datetime | None) -> datetime | None:
    """A stored time as UTC-aware (naive ones are UTC)."""
    return at if at is None or at.tzinfo is not None else at.replace(tzinfo=UTC)


async def load_talks(store: Store, tenant_id: int, tenant: str, start: datetime, end: datetime) -> list[Talk]:
    async with store.tenant(tenant_id) as s:
        interactions = await s.execute(
            select(
                m.Interaction.offered_at,
                m.Agent.name,
                m.ActivityCode.name,
                m.Interaction.answered_at,
                m.Interaction.ended_at,
            )
            .outerjoin(m.Agent, m.Agent.id == m.Interaction.agent_id)
            .outerjoin(
                m.ActivityCode,
                (m.ActivityCode.id == m.Interaction.activity_code_id) & (m.ActivityCode.kind == "disposition"),
            )
            .where(m.Interaction.offered_at >= start, m.Interaction.offered_at < end)
            .where(or_(m.Interaction.queue_id.is_not(None), m.Interaction.agent_id.is_not(None)))
        )
        talks = [
            Talk(at if at.tzinfo else at.replace(tzinfo=UTC), agent, None, disposition, _utc(answered), _utc(ended))
            for at, agent, disposition, answered, ended in interactions.all()
        ]
        lines = await s.execute(
            select(
                m.CampaignAttempt.started_at,
                m.CampaignAttempt.agent,
                m.Campaign.name,
                m.CampaignAttempt.disposition,
                m.CampaignAttempt.answered_at,
                m.CampaignAttempt.ended_at,
            )
            .join(m.Campaign, m.Campaign.id == m.CampaignAttempt.campaign_id)
            .where(m.CampaignAttempt.started_at >= start, m.CampaignAttempt.started_at < end)
        )
        prefix = f"{tenant}-"  # a campaign line names its agent as the ACD does (tvoxcc.voice.acd_config.agent_id)
        talks += [
            Talk(
                at if at.tzinfo else at.replace(tzinfo=UTC),
                agent.removeprefix(prefix) if agent else None,
                campaign,
                disposition,
                _utc(answered),
                _utc(ended),
            )
            for at, agent, campaign, disposition, answered, ended in lines.all()
        ]
    return talks


async def agent_groups(store: Store, tenant_id: int) -> dict[str, tuple[str, ...]]:
    async with store.tenant(tenant_id) as s:
        rows = await s.execute(
            select(m.Agent.name, m.AgentGroup.name)
            .join(m.GroupMember, m.GroupMember.agent_id == m.Agent.id)
            .join(m.AgentGroup, m.AgentGroup.id == m.GroupMember.group_id)
            .order_by(m.Agent.name, m.AgentGroup.name)
        )
        groups: dict[str, tuple[str, ...]] = {}
        for agent, group in rows.all():
            groups[agent] = (*groups.get(agent, ()), group)
    return groups


async def hierarchy_report(
    store: Store, tenant: str, first: date, last: date, by: HierarchyDimension
) -> dict[str, TalkFigures]:
    """Figures per group, campaign or disposition over the tenant's local days first..last."""
    row = await find_tenant(store, tenant)
    start, end = day_range(first, last, row.tz)
    talks = await load_talks(store, row.id, tenant, start, end)
    return by_hierarchy(talks, by, await agent_groups(store, row.id))
