"""Find a tenant, and read it from the store as a document (written back by ``admin.document_writer``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.hierarchy import read_links
from tvoxcc.admin.spec import (
    ActivityCodeSpec,
    AgentSpec,
    GroupSpec,
    Membership,
    OutboundSpec,
    OverflowRule,
    PromptSpec,
    QueueSpec,
    RelaxRule,
    ServiceSpec,
    SkillSpec,
    TenantDoc,
    TenantSpec,
    UserSpec,
)
from tvoxcc.ivr.nodes import Flow
from tvoxcc.store.engine import Store
from tvoxcc.store.models import (
    ActivityCode,
    Agent,
    AgentGroup,
    AgentSkill,
    GroupMember,
    IvrFlow,
    Prompt,
    Queue,
    QueueMember,
    QueueSkill,
    Service,
    Skill,
    Tenant,
    User,
)

M = TypeVar("M")


async def find_tenant(session: AsyncSession, name: str) -> Tenant:
    tenant = (await session.execute(select(Tenant).where(Tenant.name == name))).scalar_one_or_none()
    if tenant is None:
        raise AdminError(f"unknown tenant {name!r}")
    return tenant


async def tenant_id_of(store: Store, name: str) -> int:
    """The id of tenant ``name``, for opening its scoped session (``store.tenant(id)``)."""
    async with store.session() as session:
        return (await find_tenant(session, name)).id


async def tenant_rows(session: AsyncSession, model: type[M], tenant_id: int, *options: Any) -> Sequence[M]:
    """The tenant's rows of ``model`` in id order (``options``: what to load with them)."""
    stmt = select(model).where(model.tenant_id == tenant_id).options(*options)  # type: ignore[attr-defined]
    return (await session.execute(stmt.order_by(model.id))).scalars().all()  # type: ignore[attr-defined]


async def read_document(session: AsyncSession, tenant_name: str) -> TenantDoc:
    tenant = await find_tenant(session, tenant_name)
    tid = tenant.id
    services = await tenant_rows(session, Service, tid, selectinload(Service.dids))
    skills = await tenant_rows(session, Skill, tid)
    groups = await tenant_rows(session, AgentGroup, tid)
    codes = await tenant_rows(session, ActivityCode, tid)
    queues = await tenant_rows(session, Queue, tid, selectinload(Queue.skills).selectinload(QueueSkill.skill))
    agents = await tenant_rows(
        session,
        Agent,
        tid,
        selectinload(Agent.skills).selectinload(AgentSkill.skill),
        selectinload(Agent.memberships).selectinload(QueueMember.queue),
        selectinload(Agent.groups).selectinload(GroupMember.group),
    )
    users = await tenant_rows(session, User, tid)
    prompts = await tenant_rows(session, Prompt, tid)
    flows = await tenant_rows(session, IvrFlow, tid)
    service_name = {s.id: s.name for s in services}
    agent_name = {a.id: a.name for a in agents}
    links = await read_links(session, tid)
    from tvoxcc.campaigns.doc_store import read_campaigns  # campaigns.store builds on this module: not at its top
    from tvoxcc.scripts.doc_store import read_scripts

    return TenantDoc(
        tenant=TenantSpec(
            name=tenant.name,
            display_name=tenant.display_name,
            timezone=tenant.timezone,
            country=tenant.country,
            language=tenant.language,
            retention_days=tenant.retention_days,
        ),
        services=[
            ServiceSpec(
                name=s.name,
                display_name=s.display_name,
                channels=s.channels,
                priority=s.priority,
                sl_threshold_seconds=s.sl_threshold_s,
                language=s.language,
                dids=sorted(d.number for d in s.dids),
                first_response_minutes=s.sla_first_response_min,
                resolution_minutes=s.sla_resolution_min,
                business_hours=s.business_hours,
                holidays=[date.fromisoformat(d) for d in s.holidays or ()],
            )
            for s in services
        ],
        skills=[SkillSpec(name=s.name, description=s.description) for s in skills],
        activity_codes=[
            ActivityCodeSpec(code=c.code, name=c.name, kind=c.kind, productive=c.productive) for c in codes
        ],
        groups=[
            GroupSpec(
                name=g.name,
                description=g.description,
                queues=links.group_queues.get(g.name, []),
                campaigns=links.group_campaigns.get(g.name, []),
            )
            for g in groups
        ],
        queues=[
            QueueSpec(
                name=q.name,
                service=service_name[q.service_id],
                strategy=q.strategy,
                priority=q.priority,
                wrapup_seconds=q.wrapup_s,
                ring_timeout_seconds=q.ring_timeout_s,
                max_wait_seconds=q.max_wait_s,
                sl_threshold_seconds=q.sl_threshold_s,
                record=q.record,
                recording=q.recording_policy,
                recording_sample_percent=q.recording_sample_pct,
                record_legs=q.record_legs,
                moh_class=q.moh_class,
                announce_every_seconds=q.announce_every_s,
                rona_pause=q.rona_pause,
                survey=q.survey,
                skills={qs.skill.name: qs.min_level for qs in sorted(q.skills, key=lambda x: x.skill.name)},
                relax=[RelaxRule.model_validate(r) for r in q.skill_relax],
                overflow=[OverflowRule.model_validate(r) for r in q.overflow],
            )
            for q in queues
        ],
        agents=[
            AgentSpec(
                name=a.name,
                display_name=a.display_name,
                extension=a.extension,
                sip_password=SecretStr(a.sip_password),
                skills={s.skill.name: s.level for s in sorted(a.skills, key=lambda x: x.skill.name)},
                queues=[
                    Membership(queue=m.queue.name, penalty=m.penalty, weight=m.weight)
                    for m in sorted(a.memberships, key=lambda x: x.queue.name)
                ],
                groups=sorted(g.group.name for g in a.groups),
                capacity=a.capacity,
                voice_blocks_others=a.voice_blocks_others,
            )
            for a in agents
        ],
        users=[
            UserSpec(
                username=u.username,
                role=u.role,
                email=u.email,
                agent=agent_name.get(u.agent_id) if u.agent_id else None,
                password_hash=SecretStr(u.password_hash) if u.password_hash else None,
                groups=links.user_groups.get(u.username, []),
            )
            for u in users
        ],
        prompts=[PromptSpec(name=p.name, language=p.language, text=p.text) for p in prompts],
        ivrs=[Flow.model_validate({**f.definition, "service": service_name[f.service_id]}) for f in flows],
        outbound=OutboundSpec.model_validate(tenant.outbound) if tenant.outbound else None,
        campaigns=await read_campaigns(session, tid),
        scripts=await read_scripts(session, tid),
    )
