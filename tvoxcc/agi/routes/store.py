"""Every store access of the call routes (route, lookup, survey, callback), so handlers never touch SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from tvoxcc.ivr.prompts import media_for
from tvoxcc.journey.identify import contact_by_phone, open_ticket_count
from tvoxcc.journey.phones import to_e164
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.types import utcnow
from tvoxcc.voice.callbacks import request_callback


@dataclass(frozen=True)
class DidRoute:
    tenant: str
    service: str
    language: str
    priority: int


@dataclass(frozen=True)
class TenantInfo:
    id: int
    name: str
    country: str
    language: str


@dataclass(frozen=True)
class ContactInfo:
    id: int
    name: str
    vip: bool
    open_tickets: int
    last_agent: str  # name of the agent of the last answered interaction, "" if none


@dataclass(frozen=True)
class InteractionRef:
    id: int
    tenant_id: int
    tenant: str
    language: str
    agent_id: int | None


@dataclass(frozen=True)
class CallbackTarget:
    tenant: TenantInfo
    service_id: int
    queue_id: int


class CallStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def did_route(self, did: str) -> DidRoute | None:
        """The service a DID belongs to: an exact match first, then the same number in E.164.

        Trunks present DIDs in different forms (``0299990000``, ``+390299990000``, ``390299990000``);
        each stored DID is compared in E.164 with its own tenant's country.
        """
        query = (
            select(m.Did.number, m.Tenant, m.Service)
            .join(m.Service, m.Service.id == m.Did.service_id)
            .join(m.Tenant, m.Tenant.id == m.Service.tenant_id)
        )
        async with self.store.session() as session:
            exact = (await session.execute(query.where(m.Did.number == did))).first()
            rows = [exact] if exact is not None else (await session.execute(query)).all()
        for number, tenant, service in rows:
            if number == did or to_e164(number, tenant.country) == (to_e164(did, tenant.country) or "-"):
                return DidRoute(tenant.name, service.name, service.language or tenant.language, service.priority)
        return None

    async def tenant(self, name: str) -> TenantInfo | None:
        async with self.store.session() as session:
            row = (await session.execute(select(m.Tenant).where(m.Tenant.name == name))).scalar_one_or_none()
        return TenantInfo(row.id, row.name, row.country, row.language) if row else None

    async def contact(self, tenant: TenantInfo, number: str) -> ContactInfo | None:
        async with self.store.tenant(tenant.id) as session:
            contact = await contact_by_phone(session, number)
            if contact is None:
                return None
            tickets = await open_ticket_count(session, contact.contact_id)
            last_agent = (
                await session.execute(
                    select(m.Agent.name)
                    .join(m.Interaction, m.Interaction.agent_id == m.Agent.id)
                    .where(m.Interaction.contact_id == contact.contact_id, m.Interaction.answered_at.is_not(None))
                    .order_by(m.Interaction.answered_at.desc(), m.Interaction.id.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
        return ContactInfo(contact.contact_id, contact.display_name, contact.vip, tickets, last_agent or "")

    async def interaction(
        self, *, interaction_id: int | None = None, channel_id: str | None = None
    ) -> InteractionRef | None:
        """A voice interaction by id or by the caller's channel id (``Interaction.external_id``)."""
        query = select(m.Interaction, m.Tenant).join(m.Tenant, m.Tenant.id == m.Interaction.tenant_id)
        if interaction_id is not None:
            query = query.where(m.Interaction.id == interaction_id)
        elif channel_id:
            query = query.where(m.Interaction.external_id == channel_id, m.Interaction.channel == Channel.VOICE)
        else:
            return None
        async with self.store.session() as session:
            row = (await session.execute(query.order_by(m.Interaction.id.desc()).limit(1))).first()
        if row is None:
            return None
        interaction, tenant = row
        return InteractionRef(interaction.id, tenant.id, tenant.name, tenant.language, interaction.agent_id)

    async def answered(self, ref: InteractionRef) -> bool:
        async with self.store.tenant(ref.tenant_id) as session:
            found = await session.execute(select(m.NpsAnswer.id).where(m.NpsAnswer.interaction_id == ref.id).limit(1))
            return found.first() is not None

    async def save_nps(self, ref: InteractionRef, score: int, now: datetime | None = None) -> int:
        async with self.store.tenant(ref.tenant_id) as session:
            row = m.NpsAnswer(interaction_id=ref.id, agent_id=ref.agent_id, score=score, answered_at=now or utcnow())
            session.add(row)
            await session.commit()
            return row.id

    async def set_second_score(self, ref: InteractionRef, answer_id: int, score: int) -> None:
        async with self.store.tenant(ref.tenant_id) as session:
            row = await session.get(m.NpsAnswer, answer_id)
            if row is not None:
                row.second_score = score
                await session.commit()

    async def prompt(self, tenant_id: int, tenant: str, language: str, name: str) -> str | None:
        """The sound name of a tenant prompt for AGI (relative to the sounds dir), None if it has none."""
        async with self.store.tenant(tenant_id) as session:
            languages = (await session.execute(select(m.Prompt.language).where(m.Prompt.name == name))).scalars().all()
        if not languages:
            return None
        return media_for(name, tenant, language, {name: frozenset(languages)}).removeprefix("sound:")

    async def callback_target(self, tenant: str, service: str, queue: str) -> CallbackTarget | str:
        """Where a callback request goes, or why it cannot be stored (an unknown name, no queue to name).

        Without ``queue`` the service's only queue takes it: the ACD needs a queue to find an agent, and a
        request stored without one would never be dialled.
        """
        info = await self.tenant(tenant)
        if info is None:
            return f"no tenant {tenant!r}"
        async with self.store.tenant(info.id) as session:
            service_id = (
                await session.execute(select(m.Service.id).where(m.Service.name == service))
            ).scalar_one_or_none()
            if service_id is None:
                return f"no service {service!r} in tenant {tenant!r}"
            queues = select(m.Queue.id, m.Queue.name).where(m.Queue.service_id == service_id)
            found = (await session.execute(queues.where(m.Queue.name == queue) if queue else queues)).all()
        if queue and not found:
            return f"no queue {queue!r} in service {service!r}"
        if len(found) != 1:
            names = ", ".join(sorted(name for _, name in found)) or "none"
            return f"service {service!r} has {len(found)} queues ({names}): name the one to call back from"
        return CallbackTarget(info, service_id, found[0][0])

    async def save_callback(self, target: CallbackTarget, number: str, channel_id: str, now: datetime) -> int:
        """Store a pending callback, linked to the caller's contact and interaction when they are known."""
        async with self.store.tenant(target.tenant.id) as session:
            contact = await contact_by_phone(session, number)
            interaction_id = None
            if channel_id:
                interaction_id = (
                    await session.execute(
                        select(m.Interaction.id).where(m.Interaction.external_id == channel_id).limit(1)
                    )
                ).scalar_one_or_none()
            callback_id = await request_callback(
                session,
                number=number,
                service_id=target.service_id,
                queue_id=target.queue_id,
                contact_id=contact.contact_id if contact else None,
                requested_by=interaction_id,
                now=now,
                announce={"route": "agi"},  # Insight counts requests from this event
            )
            await session.commit()
            return callback_id
