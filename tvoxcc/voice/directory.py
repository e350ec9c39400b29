"""The store side of the voice service: routes, callers, and the interaction log of each call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from tvoxcc.ivr.interpreter import CallerInfo
from tvoxcc.ivr.nodes import Flow
from tvoxcc.journey.phones import to_e164
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

OPEN_TICKET = ("new", "open", "pending-customer")


@dataclass(frozen=True)
class Route:
    """Where a call for (tenant, service) goes, and what the tenant is like."""

    tenant: str
    tenant_id: int
    service: str
    service_id: int
    timezone: str
    country: str
    language: str
    flow: Flow | None  # None: the service has no IVR
    prompts: dict[str, frozenset[str]]  # tenant prompt name -> languages it exists in


class UnknownRoute(Exception):
    pass


@dataclass(frozen=True)
class QueuePoint:
    """Where a call waits, as its ``queued`` event keeps it: a restarted service puts it back there."""

    queue: str
    priority: int = 0  # the IVR's (a VIP caller's bonus is looked up again)
    arrived_at: float | None = None  # router time it first queued: its place in line (None: an older event)
    queued_at: float | None = None  # router time it entered ``queue``: its wait so far

    def data(self) -> dict[str, Any]:
        return {"queue": self.queue, "priority": self.priority, "arrived_at": self.arrived_at,
                "queued_at": self.queued_at}  # fmt: skip

    @classmethod
    def of(cls, data: dict[str, Any]) -> QueuePoint:
        priority = int(data.get("priority") or 0)
        return cls(str(data.get("queue")), priority, data.get("arrived_at"), data.get("queued_at"))


@dataclass(frozen=True)
class Caller:
    info: CallerInfo
    number: str  # E.164 when it could be normalised, else as received
    contact_id: int | None


class Directory:
    """Every store access of the voice service, so calls never touch SQL themselves."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def route(self, tenant: str, service: str) -> Route:
        async with self.store.session() as session:
            row = (
                await session.execute(
                    select(m.Tenant, m.Service)
                    .join(m.Service, m.Service.tenant_id == m.Tenant.id)
                    .where(m.Tenant.name == tenant, m.Service.name == service)
                )
            ).first()
            if row is None:
                raise UnknownRoute(f"no service {service!r} in tenant {tenant!r}")
            t, s = row
            stored = (
                await session.execute(select(m.IvrFlow.definition).where(m.IvrFlow.service_id == s.id))
            ).scalar_one_or_none()
            rows = (
                await session.execute(select(m.Prompt.name, m.Prompt.language).where(m.Prompt.tenant_id == t.id))
            ).all()
        prompts: dict[str, set[str]] = {}
        for name, language in rows:
            prompts.setdefault(name, set()).add(language)
        flow = Flow.model_validate({**stored, "service": s.name}) if stored else None
        return Route(
            t.name,
            t.id,
            s.name,
            s.id,
            t.timezone,
            t.country,
            s.language or t.language,
            flow,
            {name: frozenset(langs) for name, langs in prompts.items()},
        )

    async def identify(self, route: Route, raw_number: str) -> Caller:
        number = to_e164(raw_number, route.country) or raw_number
        async with self.store.tenant(route.tenant_id) as session:
            contact = (
                await session.execute(select(m.Contact).join(m.ContactPhone).where(m.ContactPhone.number == number))
            ).scalar_one_or_none()
            while contact is not None and contact.merged_into_id is not None:
                contact = await session.get(m.Contact, contact.merged_into_id)
            open_tickets = 0
            if contact is not None:
                open_tickets = (
                    await session.execute(
                        select(func.count()).where(m.Ticket.contact_id == contact.id, m.Ticket.status.in_(OPEN_TICKET))
                    )
                ).scalar_one()
        info = CallerInfo(
            caller=number,
            timezone=route.timezone,
            language=(contact.language if contact and contact.language else route.language),
            known=contact is not None,
            vip=bool(contact and contact.vip),
            open_tickets=open_tickets,
        )
        return Caller(info, number, contact.id if contact else None)

    async def open_interaction(self, route: Route, caller: Caller, channel_id: str, now: datetime) -> int:
        """The interaction of this channel: an existing one when the service resumes a call."""
        async with self.store.tenant(route.tenant_id) as session:
            existing = (
                await session.execute(
                    select(m.Interaction.id).where(
                        m.Interaction.external_id == channel_id, m.Interaction.channel == "voice"
                    )
                )
            ).scalar_one_or_none()
            if existing is not None:
                session.add(m.InteractionEvent(interaction_id=existing, kind="resumed", at=now))
                await session.commit()
                return int(existing)
            row = m.Interaction(
                channel="voice",
                direction="inbound",
                service_id=route.service_id,
                contact_id=caller.contact_id,
                external_id=channel_id,
                from_address=caller.number,
                to_address=route.service,
                offered_at=now,
            )
            session.add(row)
            await session.flush()
            session.add(
                m.InteractionEvent(interaction_id=row.id, kind="offered", at=now, data={"caller": caller.number})
            )
            await session.commit()
            return row.id

    async def queued_in(self, channel_id: str) -> QueuePoint | None:
        """Where a still-open call was waiting, from its stored events (used after a restart)."""
        async with self.store.session() as session:
            events = (
                await session.execute(
                    select(m.InteractionEvent.kind, m.InteractionEvent.data)
                    .join(m.Interaction, m.Interaction.id == m.InteractionEvent.interaction_id)
                    .where(m.Interaction.external_id == channel_id, m.Interaction.ended_at.is_(None))
                    .order_by(m.InteractionEvent.id)
                )
            ).all()
        queued = [QueuePoint.of(data) for kind, data in events if kind == "queued"]
        return queued[-1] if queued else None

    async def log(self, route: Route, interaction_id: int, kind: str, now: datetime, data: dict[str, Any]) -> None:
        async with self.store.tenant(route.tenant_id) as session:
            session.add(m.InteractionEvent(interaction_id=interaction_id, kind=kind, at=now, data=data))
            await session.commit()

    async def close(self, route: Route, interaction_id: int, now: datetime, outcome: str) -> None:
        async with self.store.tenant(route.tenant_id) as session:
            row = await session.get(m.Interaction, interaction_id)
            if row is None or row.ended_at is not None:
                return
            row.ended_at, row.outcome = now, outcome
            session.add(
                m.InteractionEvent(interaction_id=interaction_id, kind="ended", at=now, data={"outcome": outcome})
            )
            await session.commit()

    async def set_outcome(self, route: Route, interaction_id: int, outcome: str) -> None:
        async with self.store.tenant(route.tenant_id) as session:
            row = await session.get(m.Interaction, interaction_id)
            if row is not None:
                row.outcome = outcome
                await session.commit()

    async def request_callback(
        self,
        route: Route,
        interaction_id: int,
        queue: str,
        number: str,
        now: datetime,
        *,
        status: str = "pending",
        event: bool = True,
    ) -> int:
        """Store a callback request; the ACD picks up ``pending`` ones (``queued``: it already holds it).

        ``event``: also store the ``callback-requested`` interaction event Insight counts (the ACD's own
        requests come with the router's event instead).
        """
        async with self.store.tenant(route.tenant_id) as session:
            queue_id = (await session.execute(select(m.Queue.id).where(m.Queue.name == queue))).scalar_one_or_none()
            contact_id = (await session.get(m.Interaction, interaction_id)).contact_id  # type: ignore[union-attr]
            row = m.Callback(
                number=number,
                service_id=route.service_id,
                queue_id=queue_id,
                contact_id=contact_id,
                requested_by_id=interaction_id,
                requested_at=now,
                status=status,
            )
            session.add(row)
            await session.flush()
            if event:
                data = {"queue": queue, "number": number, "callback": row.id}
                session.add(
                    m.InteractionEvent(
                        interaction_id=interaction_id, kind="callback-requested", at=now, queue_id=queue_id, data=data
                    )
                )
            await session.commit()
            return row.id

    async def voicemail_ticket(
        self, route: Route, interaction_id: int, caller: str, audio: bytes, seconds: float, now: datetime
    ) -> int:
        """A voicemail becomes a support ticket with the recording attached; returns its number."""
        async with self.store.tenant(route.tenant_id) as session:
            number = ((await session.execute(select(func.max(m.Ticket.number)))).scalar_one() or 1000) + 1
            interaction = await session.get(m.Interaction, interaction_id)
            ticket = m.Ticket(
                number=number,
                service_id=route.service_id,
                contact_id=interaction.contact_id if interaction else None,
                subject=f"Voicemail from {caller}",
                created_at=now,
                updated_at=now,
            )
            session.add(ticket)
            await session.flush()
            message = m.TicketMessage(
                ticket_id=ticket.id,
                interaction_id=interaction_id,
                kind="inbound",
                author=caller,
                subject=ticket.subject,
                body_text=f"Voicemail of {seconds:.0f} s left by {caller}.",
                created_at=now,
            )
            session.add(message)
            await session.flush()
            session.add(
                m.Attachment(
                    message_id=message.id,
                    filename="voicemail.wav",
                    content_type="audio/wav",
                    size=len(audio),
                    data=audio,
                )
            )
            if interaction is not None:
                interaction.ticket_id = ticket.id
            await session.commit()
            return number
