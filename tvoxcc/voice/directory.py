"""The store side of the voice service: routes, callers, and the interaction log of each call."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tvoxcc.interactions import Direction, Outcome
from tvoxcc.interactions import InteractionEventKind as Kind
from tvoxcc.ivr.commands import EnterQueue
from tvoxcc.ivr.interpreter import CallerInfo
from tvoxcc.ivr.nodes import Flow
from tvoxcc.journey.identify import caller_card
from tvoxcc.journey.phones import to_e164
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.one_hop import OneHop
from tvoxcc.support.opening import open_ticket
from tvoxcc.support.status import MessageKind
from tvoxcc.voice.callback_status import CallbackStatus
from tvoxcc.voice.callbacks import request_callback
from tvoxcc.voice.left_open import OpenCall
from tvoxcc.voice.recorder import InteractionRef, Recorder


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
    """Where a call waits, as its ``queued`` event keeps it: a restarted service puts it back there, with what
    its IVR set (priority, skills, variables, language) and its place in line."""

    queue: str
    priority: int = 0  # the IVR's (a VIP caller's bonus is looked up again)
    arrived_at: float | None = None  # router time it first queued: its place in line (None: an older event)
    queued_at: float | None = None  # router time it entered ``queue``: its wait so far
    skills: tuple[tuple[str, int], ...] = ()
    variables: tuple[tuple[str, str], ...] = ()
    language: str | None = None  # None: the caller's

    @classmethod
    def entering(cls, command: EnterQueue, arrived_at: float | None, queued_at: float | None) -> QueuePoint:
        return cls(command.queue, command.priority, arrived_at, queued_at, command.skills, command.variables,
                   command.language)  # fmt: skip

    def command(self, language: str) -> EnterQueue:
        """The EnterQueue that puts the call back; ``language`` where the event names none."""
        return EnterQueue(self.queue, self.priority, self.skills, self.variables, self.language or language)

    def data(self) -> dict[str, Any]:
        return {"queue": self.queue, "priority": self.priority, "skills": dict(self.skills),
                "variables": dict(self.variables), "language": self.language, "arrived_at": self.arrived_at,
                "queued_at": self.queued_at}  # fmt: skip

    @classmethod
    def of(cls, data: dict[str, Any]) -> QueuePoint:
        """Read back; events stored by older versions hold only the queue (priority 0, nothing else)."""
        skills = {str(k): int(v) for k, v in dict(data.get("skills") or {}).items()}
        variables = {str(k): str(v) for k, v in dict(data.get("variables") or {}).items()}
        language = data.get("language")
        return cls(
            str(data.get("queue")),
            int(data.get("priority") or 0),
            data.get("arrived_at"),
            data.get("queued_at"),
            tuple(sorted(skills.items())),
            tuple(sorted(variables.items())),
            str(language) if language else None,
        )


@dataclass(frozen=True)
class Caller:
    info: CallerInfo
    number: str  # E.164 when it could be normalised, else as received
    contact_id: int | None


class Directory:
    """Every store access of the voice service, so calls never touch SQL themselves.

    Reads a call needs before it can go on (its route, who the caller is) are queries; what a call does is
    queued to the ``Recorder`` and written in batches, off the call path. Routes are cached ``route_ttl``
    seconds: a service's IVR edited with the CLI is taken within that time, and a burst of calls costs no
    query per call.
    """

    def __init__(self, store: Store, recorder: Recorder | None = None, *, route_ttl: float = 5.0) -> None:
        self.store = store
        self.recorder = recorder or Recorder(store)
        self.route_ttl = route_ttl
        self._routes: dict[tuple[str, str], tuple[float, Route]] = {}
        self._loading: dict[tuple[str, str], asyncio.Future[Route]] = {}
        self._lookups = OneHop(store, "caller-lookup")  # its thread lives as long as the process

    async def route(self, tenant: str, service: str) -> Route:
        key = (tenant, service)
        cached = self._routes.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        # One load at a time per route: the calls arriving while it runs wait for that one (at 40 calls/s,
        # every call of a burst, or of the moment the route expires, made its own three ORM queries).
        loading = self._loading.get(key)
        if loading is None:
            loading = self._loading[key] = asyncio.ensure_future(self._load_and_keep(key))
            loading.add_done_callback(_retrieved)
        return await asyncio.shield(loading)  # a caller cancelled (hung up) leaves the load to the others

    async def _load_and_keep(self, key: tuple[str, str]) -> Route:
        try:
            route = await self._load_route(*key)
            self._routes[key] = (time.monotonic() + self.route_ttl, route)
            return route
        finally:
            del self._loading[key]

    async def _load_route(self, tenant: str, service: str) -> Route:
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
        """Who is calling: their contact (a merged duplicate's survivor), language, VIP flag and open tickets.

        Every call waits for this before its IVR starts: the contact lookup's one prebuilt query (caller_card).
        """
        number = to_e164(raw_number, route.country) or raw_number
        card = await self._lookups.read(caller_card, route.tenant_id, number)
        info = CallerInfo(
            caller=number,
            timezone=route.timezone,
            language=(card.language if card is not None and card.language else route.language),
            known=card is not None,
            vip=bool(card is not None and card.vip),
            open_tickets=card.open_tickets if card is not None else 0,
        )
        return Caller(info, number, card.contact_id if card is not None else None)

    async def open_interaction(
        self, route: Route, caller: Caller, channel_id: str, now: datetime, *, resumed: bool = False
    ) -> InteractionRef:
        """The interaction of this channel; ``resumed``: the stored one of a call a previous run served."""
        if resumed:
            async with self.store.tenant(route.tenant_id) as session:
                existing = (
                    await session.execute(
                        select(m.Interaction.id).where(
                            m.Interaction.external_id == channel_id, m.Interaction.channel == Channel.VOICE
                        )
                    )
                ).scalar_one_or_none()
            if existing is not None:
                ref = InteractionRef.stored(route.tenant_id, int(existing))
                self.recorder.event(route.tenant_id, ref, Kind.RESUMED, now)
                return ref
        ref = self.recorder.open(
            route.tenant_id,
            channel=Channel.VOICE,
            direction=Direction.INBOUND,
            service_id=route.service_id,
            contact_id=caller.contact_id,
            external_id=channel_id,
            from_address=caller.number,
            to_address=route.service,
            offered_at=now,
        )
        self.recorder.event(route.tenant_id, ref, Kind.OFFERED, now, {"caller": caller.number})
        return ref

    async def queued_in(self, channel_id: str) -> QueuePoint | None:
        """Where a still-open call was waiting and what its IVR set, from its last ``queued`` event (used
        after a restart)."""
        await self.recorder.flush()
        async with self.store.session() as session:
            events = (
                await session.execute(
                    select(m.InteractionEvent.kind, m.InteractionEvent.data)
                    .join(m.Interaction, m.Interaction.id == m.InteractionEvent.interaction_id)
                    .where(m.Interaction.external_id == channel_id, m.Interaction.ended_at.is_(None))
                    .order_by(m.InteractionEvent.id)
                )
            ).all()
        queued = [QueuePoint.of(data) for kind, data in events if kind == Kind.QUEUED]
        return queued[-1] if queued else None

    async def open_call(self, channel_id: str) -> InteractionRef | None:
        """The still-open voice interaction of a caller's channel (a call a previous run served), if any."""
        await self.recorder.flush()
        async with self.store.session() as session:
            row = (
                await session.execute(
                    select(m.Interaction.tenant_id, m.Interaction.id).where(
                        m.Interaction.external_id == channel_id,
                        m.Interaction.channel == "voice",
                        m.Interaction.ended_at.is_(None),
                    )
                )
            ).first()
        return None if row is None else InteractionRef.stored(int(row[0]), int(row[1]))

    async def open_inbound_calls(self, before: datetime) -> list[OpenCall]:
        """Every tenant's open inbound voice interaction offered before ``before`` (tvoxcc.voice.left_open)."""
        await self.recorder.flush()  # the ends already queued (a resync's) are not judged again
        async with self.store.session() as session:
            rows = (
                await session.execute(
                    select(m.Interaction.tenant_id, m.Interaction.id, m.Interaction.external_id,
                           m.Interaction.answered_at)
                    .where(
                        m.Interaction.channel == Channel.VOICE,
                        m.Interaction.direction == Direction.INBOUND,
                        m.Interaction.ended_at.is_(None),
                        m.Interaction.external_id.is_not(None),
                        m.Interaction.offered_at < before,
                    )
                    .order_by(m.Interaction.id)
                )
            ).all()  # fmt: skip
        return [OpenCall(int(t), int(i), str(c), answered is not None) for t, i, c, answered in rows]

    async def stored_call(self, interaction: InteractionRef) -> m.Interaction | None:
        """A stored call's row (what a previous run knew of it: answer, queue, agent, contact, recording); no
        flush first: it runs while calls are taken back, before the recorder's writer may have started."""
        if interaction.id is None:
            return None
        async with self.store.session() as session:
            return await session.get(m.Interaction, interaction.id)

    def shed(self, route: Route, number: str, channel_id: str, now: datetime) -> None:
        """A call the overloaded service turned away (busy message): stored, ended, outcome ``shed``."""
        ref = self.recorder.open(
            route.tenant_id,
            channel=Channel.VOICE,
            direction=Direction.INBOUND,
            service_id=route.service_id,
            external_id=channel_id,
            from_address=to_e164(number, route.country) or number,
            to_address=route.service,
            offered_at=now,
        )
        self.recorder.close(ref, now, Outcome.SHED)

    async def log(
        self, route: Route, interaction: InteractionRef, kind: str, now: datetime, data: dict[str, Any]
    ) -> None:
        self.recorder.event(route.tenant_id, interaction, kind, now, data)

    async def close(self, route: Route, interaction: InteractionRef, now: datetime, outcome: Outcome) -> None:
        self.recorder.close(interaction, now, outcome)

    async def set_outcome(self, route: Route, interaction: InteractionRef, outcome: Outcome) -> None:
        self.recorder.update(interaction, outcome=outcome)

    async def request_callback(
        self,
        route: Route,
        interaction: InteractionRef,
        queue: str,
        number: str,
        now: datetime,
        *,
        status: CallbackStatus = CallbackStatus.PENDING,
        event: bool = True,
    ) -> int:
        """Store a callback request; the ACD picks up ``pending`` ones (``queued``: it already holds it).

        ``event``: also store the ``callback-requested`` interaction event Insight counts (the ACD's own
        requests come with the router's event instead).
        """
        await self.recorder.flush()  # the request refers to the stored interaction
        async with self.store.tenant(route.tenant_id) as session:
            queue_id = (await session.execute(select(m.Queue.id).where(m.Queue.name == queue))).scalar_one_or_none()
            asking = await session.get(m.Interaction, interaction.id)
            callback_id = await request_callback(
                session,
                number=number,
                service_id=route.service_id,
                queue_id=queue_id,
                contact_id=asking.contact_id if asking else None,
                requested_by=interaction.id,
                now=now,
                status=status,
                announce={"queue": queue} if event else None,
            )
            await session.commit()
            return callback_id

    async def voicemail_ticket(
        self, route: Route, interaction: InteractionRef, caller: str, audio: bytes, seconds: float, now: datetime
    ) -> int:
        """A voicemail becomes a support ticket with the recording attached; returns its number."""
        await self.recorder.flush()  # the ticket refers to the stored interaction
        interaction_id = interaction.id
        async with self.store.tenant(route.tenant_id) as session:
            row = await session.get(m.Interaction, interaction_id)
            ticket = await open_ticket(
                session,
                subject=f"Voicemail from {caller}",
                now=now,
                service_id=route.service_id,
                contact_id=row.contact_id if row else None,
            )
            message = m.TicketMessage(
                ticket_id=ticket.id,
                interaction_id=interaction_id,
                kind=MessageKind.INBOUND,
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
            if row is not None:
                row.ticket_id = ticket.id
            await session.commit()
            return ticket.number


def _retrieved(load: asyncio.Future[Route]) -> None:
    """Its error (an unknown route) is each waiting caller's: never logged as an exception nobody retrieved."""
    if not load.cancelled():
        load.exception()
