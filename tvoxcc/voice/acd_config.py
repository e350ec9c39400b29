"""The store side of the ACD: queue and agent configuration for the router, and what it reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tvoxcc.queues import model as q
from tvoxcc.recordings.policy import RecordingPolicy, effective_policy
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.call import CallSession
from tvoxcc.voice.recorder import InteractionRef, Recorder


@dataclass(frozen=True)
class QueueKey:
    """A tenant's queue. The router holds every tenant's queues, so its names carry the tenant."""

    tenant: str
    name: str

    @property
    def router_name(self) -> str:
        return f"{self.tenant}/{self.name}"


def agent_id(tenant: str, name: str) -> str:
    # The PJSIP endpoint name of the agent's phone (tvoxcc.asterisk.inputs.AgentPhone.endpoint).
    return f"{tenant}-{name}"


def personal_skill(agent: str) -> str:
    """The skill only the agent named ``agent`` has (level 1): an item needing it is for that agent alone — a
    chat transferred to them — until the queue's relaxation lowers it to nothing."""
    return f"agent:{agent}"


Membership = tuple[str, int, int]  # router queue name, penalty, weight


class AcdDirectory:
    def __init__(self, store: Store, recorder: Recorder | None = None) -> None:
        self.store = store
        self.recorder = recorder or Recorder(store)  # router events are written in batches, off the call path
        self._agents: dict[str, tuple[int, int]] = {}  # router agent id -> (tenant id, agent row id)
        self._queues: dict[str, tuple[int, int]] = {}  # router queue name -> (tenant id, queue row id)
        self._tenant_names: dict[int, str] = {}
        self.announce_every: dict[str, int] = {}  # router queue name -> seconds (0: never)
        # router queue name -> (policy, sample percent), for the queues that record from the answer
        self.recorded: dict[str, tuple[RecordingPolicy, int]] = {}
        self.surveyed: set[str] = set()  # router queue names whose callers get the NPS survey
        self.legs_recorded: set[str] = set()  # router queue names whose recorded calls have each leg apart too

    async def queue_configs(self) -> list[q.QueueConfig]:
        async with self.store.session() as session:
            rows = await session.execute(
                select(m.Queue, m.Tenant.name, m.Service.priority)
                .join(m.Tenant, m.Tenant.id == m.Queue.tenant_id)
                .join(m.Service, m.Service.id == m.Queue.service_id)
                .options(selectinload(m.Queue.skills).selectinload(m.QueueSkill.skill))
            )
            configs = []
            recorded: dict[str, tuple[RecordingPolicy, int]] = {}  # anew each time: a queue may stop recording
            surveyed, legs_recorded = set(), set()
            for queue, tenant, service_priority in rows.all():
                key = QueueKey(tenant, queue.name)
                self._queues[key.router_name] = (queue.tenant_id, queue.id)
                self.announce_every[key.router_name] = queue.announce_every_s
                policy = effective_policy(queue.record, queue.recording_policy)
                if policy is not RecordingPolicy.NEVER:
                    recorded[key.router_name] = (policy, queue.recording_sample_pct)
                if queue.survey:
                    surveyed.add(key.router_name)
                if queue.record_legs:
                    legs_recorded.add(key.router_name)
                configs.append(
                    q.QueueConfig(
                        name=key.router_name,
                        strategy=q.Strategy(queue.strategy),
                        skills={s.skill.name: s.min_level for s in queue.skills},
                        relax=tuple(q.RelaxRule(r["after_seconds"], r["min_level"]) for r in queue.skill_relax),
                        overflow=tuple(
                            q.OverflowRule(
                                q.OverflowWhen(o["when"]),
                                q.OverflowAction(o["action"]),
                                f"{tenant}/{o['target']}" if o["action"] == "queue" else o.get("target"),
                                o.get("after_seconds"),
                                o.get("length"),
                            )
                            for o in queue.overflow
                        ),
                        priority=queue.priority,
                        service_priority=service_priority,
                        wrapup_s=queue.wrapup_s,
                        ring_timeout_s=queue.ring_timeout_s,
                        max_wait_s=queue.max_wait_s,
                        rona_pause=queue.rona_pause,
                    )
                )
            self.recorded, self.surveyed, self.legs_recorded = recorded, surveyed, legs_recorded
            return configs

    async def agent_configs(self) -> list[tuple[q.AgentConfig, list[Membership]]]:
        async with self.store.session() as session:
            rows = await session.execute(
                select(m.Agent, m.Tenant.name)
                .join(m.Tenant, m.Tenant.id == m.Agent.tenant_id)
                .options(
                    selectinload(m.Agent.skills).selectinload(m.AgentSkill.skill),
                    selectinload(m.Agent.memberships).selectinload(m.QueueMember.queue),
                )
            )
            out = []
            for agent, tenant in rows.all():
                ident = agent_id(tenant, agent.name)
                self._agents[ident] = (agent.tenant_id, agent.id)
                config = q.AgentConfig(
                    agent_id=ident,
                    capacity={q.Channel(k): v for k, v in agent.capacity.items()},
                    voice_blocks_others=agent.voice_blocks_others,
                    skills={s.skill.name: s.level for s in agent.skills} | {personal_skill(agent.name): 1},
                )
                members = [
                    (QueueKey(tenant, mb.queue.name).router_name, mb.penalty, mb.weight) for mb in agent.memberships
                ]
                out.append((config, members))
            return out

    def tenant_of(self, agent: str) -> str:
        return self._tenant_names.get(self._agents.get(agent, (0, 0))[0], "")

    async def pause_codes(self) -> dict[str, dict[str, str]]:
        """Per tenant, the pause activity codes an agent dials after *73."""
        async with self.store.session() as session:
            rows = await session.execute(
                select(m.Tenant.id, m.Tenant.name, m.ActivityCode.code, m.ActivityCode.name)
                .join(m.ActivityCode, m.ActivityCode.tenant_id == m.Tenant.id)
                .where(m.ActivityCode.kind == "pause")
            )
            codes: dict[str, dict[str, str]] = {}
            for tenant_id, tenant, code, name in rows.all():
                self._tenant_names[tenant_id] = tenant
                codes.setdefault(tenant, {})[code] = name
            for tenant_id, tenant in (await session.execute(select(m.Tenant.id, m.Tenant.name))).all():
                self._tenant_names[tenant_id] = tenant
            return codes

    def store_event(self, event: q.Event, interaction: InteractionRef | None, now: datetime) -> None:
        """A router event as an interaction event of its tenant (statistics are computed from these)."""
        data = {"detail": event.detail, "value": event.value, "router_at": event.at}
        self._store(str(event.kind), event.agent_id, event.queue, interaction, now, data)

    def store_wrapup(self, agent: str, kind: str, seconds: float | None, router_at: float, now: datetime) -> None:
        """``wrapup-started`` (with its length) / ``wrapup-ended``: Insight counts wrap-up into AHT from these."""
        self._store(kind, agent, None, None, now, {"detail": "", "value": seconds, "router_at": router_at})

    def _store(
        self,
        kind: str,
        agent: str | None,
        queue: str | None,
        interaction: InteractionRef | None,
        now: datetime,
        data: dict[str, Any],
    ) -> None:
        owner = self._agents.get(agent or "") or self._queues.get(queue or "")
        if owner is None:
            return
        self.recorder.event(
            owner[0],
            interaction,
            kind,
            now,
            data,
            agent_id=self._agents.get(agent or "", (0, None))[1],
            queue_id=self._queues.get(queue or "", (0, None))[1],
        )

    def row_ids(self, queue: QueueKey, agent: str) -> tuple[int | None, int | None]:
        """(queue, agent) row ids of a router queue and agent, as far as the config knows them."""
        return self._queues.get(queue.router_name, (0, None))[1], self._agents.get(agent, (0, None))[1]

    async def answered(
        self, call: CallSession, queue: QueueKey, agent: str, now: datetime, *, recording: str | None = None
    ) -> None:
        self.recorder.update(
            call.interaction,
            answered_at=now,
            agent_id=self._agents.get(agent, (0, None))[1],
            queue_id=self._queues.get(queue.router_name, (0, None))[1],
            recording=recording,
        )
