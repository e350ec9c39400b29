"""Write a tenant document back to the store as one transaction: upsert every section, prune what it lost."""

from __future__ import annotations

import secrets
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from tvoxcc.admin.checks import check_document
from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.hierarchy import write_links
from tvoxcc.admin.repository import tenant_rows
from tvoxcc.admin.spec import (
    TenantDoc,
)
from tvoxcc.store.models import (
    ActivityCode,
    Agent,
    AgentGroup,
    AgentSkill,
    Callback,
    Did,
    GroupMember,
    Interaction,
    InteractionEvent,
    IvrFlow,
    NpsAnswer,
    Prompt,
    Queue,
    QueueMember,
    QueueSkill,
    Service,
    Skill,
    Tenant,
    Ticket,
    User,
)
from tvoxcc.store.types import utcnow

M = TypeVar("M")


async def _foreign_conflicts(session: AsyncSession, doc: TenantDoc, tenant_id: int | None) -> list[str]:
    """DIDs and usernames are unique across tenants: say which other tenant holds them."""
    problems = []
    for i, service in enumerate(doc.services):
        if not service.dids:
            continue
        stmt = (
            select(Did.number, Tenant.name)
            .join(Tenant, Tenant.id == Did.tenant_id)
            .where(Did.number.in_(service.dids), Did.tenant_id != (tenant_id or -1))
        )
        for number, owner in (await session.execute(stmt)).all():
            j = service.dids.index(number)
            problems.append(f"services[{i}].dids[{j}]: DID {number!r} already belongs to tenant {owner!r}")
    usernames = [u.username for u in doc.users]
    if usernames:
        stmt2 = select(User.username).where(
            User.username.in_(usernames), (User.tenant_id != (tenant_id or -1)) | User.tenant_id.is_(None)
        )
        for (username,) in (await session.execute(stmt2)).all():
            problems.append(f"users[{usernames.index(username)}].username: {username!r} is taken by another tenant")
    return problems


async def _history(session: AsyncSession, column_sets: list[Any], row_id: int) -> int:
    total = 0
    for column in column_sets:
        total += (await session.execute(select(func.count()).where(column == row_id))).scalar_one()
    return total


HISTORY: dict[type[Any], list[Any]] = {
    Service: [Interaction.service_id, Ticket.service_id, Callback.service_id],
    Queue: [Interaction.queue_id, InteractionEvent.queue_id, Ticket.queue_id, Callback.queue_id],
    Agent: [Interaction.agent_id, InteractionEvent.agent_id, Ticket.assignee_agent_id, NpsAnswer.agent_id],
    ActivityCode: [Interaction.activity_code_id],
}


async def write_document(session: AsyncSession, doc: TenantDoc, *, prune: bool) -> Tenant:
    """Upsert everything in ``doc``; with ``prune`` also remove what the document no longer has.

    Raises AdminError listing every problem; the caller's transaction must then be rolled back.
    """
    existing = (await session.execute(select(Tenant).where(Tenant.name == doc.tenant.name))).scalar_one_or_none()
    problems = check_document(doc) + await _foreign_conflicts(session, doc, existing.id if existing else None)
    if problems:
        raise AdminError(*problems)
    tenant = existing or Tenant(name=doc.tenant.name)
    spec = doc.tenant
    tenant.display_name, tenant.timezone = spec.display_name, spec.timezone
    tenant.country, tenant.language = spec.country, spec.language
    tenant.retention_days = spec.retention_days
    if doc.outbound is not None:  # a file without it keeps the stored one, like every other section
        tenant.outbound = doc.outbound.model_dump(mode="json")
    session.add(tenant)
    await session.flush()
    writer = _Writer(session, tenant.id)
    await writer.write(doc, prune=prune)
    return tenant


class _Writer:
    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tid = tenant_id
        self.blocked: list[str] = []

    async def _by_name(self, model: type[M], key: str = "name") -> dict[str, M]:
        rows = await tenant_rows(self.session, model, self.tid)
        return {getattr(r, key): r for r in rows}

    async def _prune(self, label: str, rows: dict[str, Any], keep: set[str]) -> None:
        for name, row in rows.items():
            if name in keep:
                continue
            history = HISTORY.get(type(row))
            used = await _history(self.session, history, row.id) if history else 0
            if used:
                self.blocked.append(f"cannot remove {label} {name!r}: {used} stored contacts refer to it")
                continue
            await self.session.delete(row)

    async def write(self, doc: TenantDoc, *, prune: bool) -> None:
        s, tid = self.session, self.tid
        services = await self._by_name(Service)
        for spec in doc.services:
            svc = services.get(spec.name) or Service(tenant_id=tid, name=spec.name)
            svc.display_name, svc.channels, svc.priority = (
                spec.display_name,
                list(spec.channels),
                spec.priority,
            )
            svc.sl_threshold_s, svc.language = spec.sl_threshold_seconds, spec.language
            svc.sla_first_response_min, svc.sla_resolution_min = spec.first_response_minutes, spec.resolution_minutes
            svc.business_hours = spec.business_hours
            svc.holidays = [d.isoformat() for d in spec.holidays] or None
            s.add(svc)
            services[spec.name] = svc
        skills = await self._by_name(Skill)
        for sk in doc.skills:
            skill = skills.get(sk.name) or Skill(tenant_id=tid, name=sk.name)
            skill.description = sk.description
            s.add(skill)
            skills[sk.name] = skill
        groups = await self._by_name(AgentGroup)
        for gs in doc.groups:
            group = groups.get(gs.name) or AgentGroup(tenant_id=tid, name=gs.name)
            group.description = gs.description
            s.add(group)
            groups[gs.name] = group
        codes = await self._by_name(ActivityCode)
        for cs in doc.activity_codes:
            code = codes.get(cs.name) or ActivityCode(tenant_id=tid, name=cs.name)
            code.code, code.kind, code.productive = cs.code, cs.kind, cs.productive
            s.add(code)
            codes[cs.name] = code
        await s.flush()
        await self._write_dids(doc, services)
        queues = await self._write_queues(doc, services, skills)
        agents = await self._write_agents(doc, skills, queues, groups)
        await self._write_users(doc, agents, prune=prune)
        await self._write_voice(doc, services, prune=prune)
        from tvoxcc.campaigns.doc_store import (
            write_campaigns,  # campaigns.store builds on admin.repository: not at the top
        )
        from tvoxcc.scripts.doc_store import write_scripts

        await write_campaigns(s, tid, doc.campaigns)  # before the links: a group may name a new campaign
        await write_scripts(s, tid, doc.scripts)  # after the campaigns: a script may be for a new one
        await write_links(s, tid, doc, prune=prune)
        if prune:
            await self._prune("agent", agents, {a.name for a in doc.agents})
            await self._prune("queue", queues, {q.name for q in doc.queues})
            await self._prune("group", groups, {g.name for g in doc.groups})
            await self._prune("activity code", codes, {c.name for c in doc.activity_codes})
            await self._prune("skill", skills, {k.name for k in doc.skills})
            await self._prune("service", services, {v.name for v in doc.services})
        if self.blocked:
            raise AdminError(*self.blocked)
        await s.flush()

    async def _write_dids(self, doc: TenantDoc, services: dict[str, Service]) -> None:
        dids = await self._by_name(Did, key="number")
        wanted = {number: spec.name for spec in doc.services for number in spec.dids}
        for number, row in dids.items():
            if number not in wanted:
                await self.session.delete(row)
        for number, service_name in wanted.items():
            did = dids.get(number) or Did(tenant_id=self.tid, number=number)
            did.service_id = services[service_name].id
            self.session.add(did)

    async def _write_queues(
        self, doc: TenantDoc, services: dict[str, Service], skills: dict[str, Skill]
    ) -> dict[str, Queue]:
        s = self.session
        queues = {q.name: q for q in await tenant_rows(s, Queue, self.tid, selectinload(Queue.skills))}
        for spec in doc.queues:
            q = queues.get(spec.name) or Queue(tenant_id=self.tid, name=spec.name, skills=[])
            q.service_id = services[spec.service].id
            q.strategy, q.priority, q.wrapup_s = spec.strategy, spec.priority, spec.wrapup_seconds
            q.ring_timeout_s, q.max_wait_s = spec.ring_timeout_seconds, spec.max_wait_seconds
            q.sl_threshold_s, q.record, q.moh_class = spec.sl_threshold_seconds, spec.record, spec.moh_class
            q.recording_policy, q.recording_sample_pct = spec.recording, spec.recording_sample_percent
            q.record_legs = spec.record_legs
            q.announce_every_s, q.rona_pause, q.survey = spec.announce_every_seconds, spec.rona_pause, spec.survey
            q.skill_relax = [r.model_dump() for r in spec.relax]
            q.overflow = [o.model_dump(exclude_none=True) for o in spec.overflow]
            current = {qs.skill_id: qs for qs in q.skills}
            wanted = {skills[name].id: level for name, level in spec.skills.items()}
            q.skills = [
                _set(current.get(sid) or QueueSkill(tenant_id=self.tid, skill_id=sid), min_level=level)
                for sid, level in wanted.items()
            ]
            s.add(q)
            queues[spec.name] = q
        await s.flush()
        return queues

    async def _write_agents(
        self,
        doc: TenantDoc,
        skills: dict[str, Skill],
        queues: dict[str, Queue],
        groups: dict[str, AgentGroup],
    ) -> dict[str, Agent]:
        s = self.session
        options = (selectinload(Agent.skills), selectinload(Agent.memberships), selectinload(Agent.groups))
        agents = {a.name: a for a in await tenant_rows(s, Agent, self.tid, *options)}
        for spec in doc.agents:
            agent = agents.get(spec.name)
            if agent is None:
                # A new phone gets a strong generated password unless the document gives one.
                agent = Agent(tenant_id=self.tid, name=spec.name, skills=[], memberships=[], groups=[])
                agent.sip_password = secrets.token_urlsafe(12)
            if spec.sip_password is not None:
                agent.sip_password = spec.sip_password.get_secret_value()
            agent.display_name, agent.extension = spec.display_name, spec.extension
            agent.capacity, agent.voice_blocks_others = (
                {str(k): v for k, v in spec.capacity.items()},
                spec.voice_blocks_others,
            )
            have_skills = {x.skill_id: x for x in agent.skills}
            agent.skills = [
                _set(
                    have_skills.get(skills[n].id) or AgentSkill(tenant_id=self.tid, skill_id=skills[n].id),
                    level=lv,
                )
                for n, lv in spec.skills.items()
            ]
            have_queues = {m.queue_id: m for m in agent.memberships}
            agent.memberships = [
                _set(
                    have_queues.get(queues[m.queue].id) or QueueMember(tenant_id=self.tid, queue_id=queues[m.queue].id),
                    penalty=m.penalty,
                    weight=m.weight,
                )
                for m in spec.queues
            ]
            have_groups = {g.group_id: g for g in agent.groups}
            agent.groups = [
                have_groups.get(groups[g].id) or GroupMember(tenant_id=self.tid, group_id=groups[g].id)
                for g in spec.groups
            ]
            s.add(agent)
            agents[spec.name] = agent
        await s.flush()
        return agents

    async def _write_voice(self, doc: TenantDoc, services: dict[str, Service], *, prune: bool) -> None:
        s = self.session
        prompts = {(p.name, p.language): p for p in await tenant_rows(s, Prompt, self.tid)}
        for spec in doc.prompts:
            row = prompts.pop((spec.name, spec.language), None) or Prompt(
                tenant_id=self.tid, name=spec.name, language=spec.language
            )
            row.text = spec.text
            s.add(row)
        flows = {f.service_id: f for f in await tenant_rows(s, IvrFlow, self.tid)}
        for flow in doc.ivrs:
            service_id = services[flow.service].id
            row2 = flows.pop(service_id, None) or IvrFlow(tenant_id=self.tid, service_id=service_id)
            definition = flow.model_dump(mode="json", by_alias=True, exclude={"service"})
            if row2.definition != definition:
                row2.definition, row2.updated_at = definition, utcnow()
            s.add(row2)
        if prune:
            for leftover in [*prompts.values(), *flows.values()]:
                await s.delete(leftover)
        await s.flush()

    async def _write_users(self, doc: TenantDoc, agents: dict[str, Agent], *, prune: bool) -> None:
        users = await self._by_name(User, key="username")
        for spec in doc.users:
            user = users.get(spec.username) or User(tenant_id=self.tid, username=spec.username)
            user.role, user.email = spec.role, spec.email
            user.agent_id = agents[spec.agent].id if spec.agent else None
            if spec.password_hash is not None:
                user.password_hash = spec.password_hash.get_secret_value()
            self.session.add(user)
        if prune:
            for username, row in users.items():
                if username not in {u.username for u in doc.users}:
                    await self.session.delete(row)


def _set(row: M, **values: Any) -> M:
    for key, value in values.items():
        setattr(row, key, value)
    return row
