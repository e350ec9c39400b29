"""Callbacks on the voice side: how a tenant dials out, and the store side of each callback's life.

A ``Callback`` row is stored by ``request_callback``, for the IVR's callback node, the AGI ``callback``
route and a queue's callback overflow alike. The ACD reads the ``pending`` ones, keeps them in the router
as callback work items (status ``queued``), and when the router's ``PlaceCallback`` comes it dials the
customer through the tenant's outbound route: every attempt is an outbound interaction (``placed_as``),
the row counts ``attempts`` and ends ``done`` (the customer talked to an agent) or ``failed``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.interactions import Direction, Outcome
from tvoxcc.interactions import InteractionEventKind as Kind
from tvoxcc.queues.model import Channel
from tvoxcc.queues.model import EventKind as RouterEvent
from tvoxcc.store import models as m
from tvoxcc.store import peek
from tvoxcc.store.engine import Store
from tvoxcc.voice.callback_status import CallbackStatus
from tvoxcc.voice.recorder import InteractionRef, Recorder

# What may replace {number} in a dial string: digits, a leading +, or an internal name (lab "caller").
_DIALLABLE = re.compile(r"^\+?[A-Za-z0-9*#]{1,32}$")
_OUTBOUND = select(m.Tenant.name, m.Tenant.outbound).where(m.Tenant.outbound.is_not(None))  # built once (store.peek)


class NotDiallable(ValueError):
    pass


@dataclass(frozen=True)
class OutboundRoute:
    """tvoxcc.admin.spec.OutboundSpec as the ACD uses it."""

    endpoint: str  # e.g. PJSIP/{number}@acme-pstn
    caller_id: str = ""
    ring_seconds: int = 30

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> OutboundRoute:
        return cls(str(data["endpoint"]), str(data.get("caller_id", "")), int(data.get("ring_seconds", 30)))

    def dial(self, number: str) -> str:
        if not _DIALLABLE.match(number):
            raise NotDiallable(f"cannot dial {number!r}")
        return self.endpoint.replace("{number}", number)


@dataclass
class CallbackJob:
    """One callback the ACD holds; ``item_id`` is its router item (the caller's channel id for an overflow)."""

    item_id: str
    callback_id: int
    tenant: str
    tenant_id: int
    service: str
    queue: str
    number: str
    interaction_id: int | None  # the request's interaction, then the current attempt's
    channel_id: str | None = None  # the attempt being dialled
    answered: bool = False
    cancelled: bool = False  # an operator cancelled it just as its turn came
    # The channel of an attempt a previous run was dialling when it stopped: it may still ring the customer.
    left_ringing: str | None = None

    def interaction(self) -> InteractionRef | None:
        """The current interaction, for events the recorder writes."""
        return InteractionRef.stored(self.tenant_id, self.interaction_id) if self.interaction_id else None


async def request_callback(
    session: AsyncSession,
    *,
    number: str,
    service_id: int | None,
    queue_id: int | None,
    contact_id: int | None,
    requested_by: int | None,
    now: datetime,
    status: CallbackStatus = CallbackStatus.PENDING,
    announce: Mapping[str, Any] | None = None,
) -> int:
    """Store a callback request in the session's tenant (not committed) and return its id.

    The ACD takes ``pending`` ones (``queued``: a running ACD already holds it, a queue's overflow). A request
    without a queue is never dialled: the router needs a queue to find an agent. ``requested_by`` is the
    interaction that asked. ``announce``: also store the ``callback-requested`` event Insight counts, with
    this data besides the number and the callback (None: the router's own event is stored instead).
    """
    row = m.Callback(
        number=number,
        service_id=service_id,
        queue_id=queue_id,
        contact_id=contact_id,
        requested_by_id=requested_by,
        requested_at=now,
        status=status,
    )
    session.add(row)
    await session.flush()
    if announce is not None:
        data = {**announce, "number": number, "callback": row.id}
        kind = RouterEvent.CALLBACK_REQUESTED
        session.add(m.InteractionEvent(interaction_id=requested_by, kind=kind, at=now, queue_id=queue_id, data=data))
    return row.id


class CallbackBook:
    def __init__(self, store: Store, recorder: Recorder | None = None) -> None:
        self.store = store
        # The voice service's batched writes: flushed first, so a request's events keep their order.
        self.recorder = recorder

    async def outbound_routes(self) -> dict[str, OutboundRoute]:
        """Every tenant's outbound route (the ACD asks at each callback poll: a cheap read, tvoxcc.store.peek)."""
        return {name: OutboundRoute.from_data(data) for name, data in await peek.rows(self.store, _OUTBOUND) if data}

    async def take_pending(self, tenants: set[str], *, again: bool = False) -> list[CallbackJob]:
        """Pending requests of tenants that can dial out, oldest first, marked ``queued``.

        ``again`` (at start): also those a previous run held (``queued``/``dialing``), which it lost; a
        ``dialing`` one names the channel of its attempt in ``left_ringing``.
        Requests without a queue wait for one: the router needs a queue to find an agent.
        """
        statuses = {CallbackStatus.PENDING} | (CallbackStatus.HELD if again else set())
        async with self.store.session() as session:
            rows = await session.execute(
                select(m.Callback, m.Tenant.name, m.Service.name, m.Queue.name, m.Interaction.external_id)
                .join(m.Tenant, m.Tenant.id == m.Callback.tenant_id)
                .join(m.Queue, m.Queue.id == m.Callback.queue_id)
                .join(m.Service, m.Service.id == m.Queue.service_id)
                .outerjoin(m.Interaction, m.Interaction.id == m.Callback.placed_as_id)
                .where(m.Callback.status.in_(sorted(statuses)), m.Tenant.name.in_(sorted(tenants)))
                .order_by(m.Callback.requested_at, m.Callback.id)
            )
            jobs = []
            for row, tenant, service, queue, attempt_channel in rows.all():
                left_ringing = attempt_channel if row.status == CallbackStatus.DIALING else None
                row.status = CallbackStatus.QUEUED
                jobs.append(
                    CallbackJob(
                        f"callback-{row.id}",
                        row.id,
                        tenant,
                        row.tenant_id,
                        service,
                        queue,
                        row.number,
                        row.placed_as_id or row.requested_by_id,
                        left_ringing=left_ringing,
                    )
                )
            await session.commit()
            return jobs

    async def cancelled(self, callback_ids: Collection[int]) -> set[int]:
        """Which of these callbacks an operator cancelled (`tvoxcc callback cancel`) since they were taken."""
        if not callback_ids:
            return set()
        async with self.store.session() as session:
            rows = await session.execute(
                select(m.Callback.id).where(
                    m.Callback.id.in_(sorted(callback_ids)), m.Callback.status == CallbackStatus.CANCELLED
                )
            )
            return set(rows.scalars().all())

    async def placing(self, job: CallbackJob, channel_id: str, caller_id: str, now: datetime) -> int | None:
        """An attempt begins: a new outbound interaction, the row ``dialing``; returns the interaction.

        None when the callback was cancelled meanwhile (or is gone): it must not be dialled.
        """
        if self.recorder is not None:
            await self.recorder.flush()
        async with self.store.tenant(job.tenant_id) as session:
            row = await session.get(m.Callback, job.callback_id, with_for_update=True)
            if row is None or row.status == CallbackStatus.CANCELLED:
                return None
            queue_id = (await session.execute(select(m.Queue.id).where(m.Queue.name == job.queue))).scalar_one_or_none()
            interaction = m.Interaction(
                channel=Channel.VOICE,
                direction=Direction.OUTBOUND,
                service_id=row.service_id,
                queue_id=queue_id,
                contact_id=row.contact_id,
                external_id=channel_id,
                from_address=caller_id,
                to_address=job.number,
                offered_at=now,
            )
            session.add(interaction)
            await session.flush()
            row.status, row.attempts, row.placed_as_id = CallbackStatus.DIALING, row.attempts + 1, interaction.id
            data = {"callback": row.id, "number": job.number, "attempt": row.attempts}
            session.add(m.InteractionEvent(interaction_id=interaction.id, kind=Kind.DIALING, at=now, data=data))
            await session.commit()
            return interaction.id

    async def finished(
        self,
        job: CallbackJob,
        now: datetime,
        *,
        status: CallbackStatus,
        outcome: Outcome | None,
        event: Kind | RouterEvent | None = None,
    ) -> None:
        """The row becomes ``status`` (``queued`` again after a failed attempt with a retry to come, ``done``,
        ``failed``); the attempt's interaction, if one is open, ends with ``outcome``; ``event`` (e.g.
        ``callback-completed``) is stored on that interaction."""
        if self.recorder is not None:
            await self.recorder.flush()
        async with self.store.tenant(job.tenant_id) as session:
            row = await session.get(m.Callback, job.callback_id)
            if row is None or row.status == CallbackStatus.CANCELLED:
                return  # an operator's cancel stands
            row.status = status
            if status in CallbackStatus.FINISHED:
                row.completed_at = now
            interaction = await session.get(m.Interaction, job.interaction_id) if job.interaction_id else None
            if interaction is not None and outcome is not None and interaction.ended_at is None:
                interaction.ended_at, interaction.outcome = now, outcome
                session.add(
                    m.InteractionEvent(
                        interaction_id=interaction.id, kind=Kind.ENDED, at=now, data={"outcome": outcome}
                    )
                )
            if event is not None:
                data = {"callback": row.id, "attempts": row.attempts, "detail": outcome or status}
                session.add(m.InteractionEvent(interaction_id=job.interaction_id, kind=event, at=now, data=data))
            await session.commit()
