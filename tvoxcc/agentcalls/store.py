"""The store side of agents' own calls: checking a dial-out, its ``agent_calls`` row and outbound interaction.

The voice service calls ``prepare`` when an agent's phone dials out, ``claim_requests`` for the desktop's
click-to-call requests (the web app stores them with ``request``), then ``dialing``, ``answered`` and ``ended``
as the customer's leg goes. Every step commits at once: the journey and the wallboard see the call as it is.
A click-to-call dialling a previewed campaign record brings each step back to that record, in the same
transaction (tvoxcc.campaigns.preview_calls).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.agentcalls.model import REQUEST_TTL_S, Origin, Phase, Refusal, refusal, spellings
from tvoxcc.campaigns import preview_calls
from tvoxcc.interactions import Direction, Outcome
from tvoxcc.interactions import InteractionEventKind as Kind
from tvoxcc.journey.identify import contact_by_phone
from tvoxcc.journey.phones import to_e164
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.store import peek
from tvoxcc.store.engine import Store
from tvoxcc.voice.callbacks import OutboundRoute

# polled every second: built once (tvoxcc.store.peek)
_REQUESTED = peek.probe(
    select(m.AgentCall.id).where(m.AgentCall.phase == Phase.REQUESTED, m.AgentCall.origin == Origin.DESKTOP)
)


@dataclass(frozen=True)
class Prepared:
    """A dial-out that may go ahead: its row, and how to dial it."""

    row_id: int
    tenant_id: int
    tenant: str
    agent: str  # the agent's router id (its endpoint, "tenant-name")
    number: str
    route: OutboundRoute
    agent_row: int | None = None  # the agent's row id


@dataclass(frozen=True)
class Refused:
    row_id: int | None  # None: no agent to store it for
    reason: Refusal


@dataclass(frozen=True)
class Claimed:
    """A click-to-call request the voice service took: ring ``agent``'s phone, then dial ``number``."""

    row_id: int
    agent: str
    number: str


async def check(session: AsyncSession, tenant: m.Tenant, number: str) -> Refusal | None:
    """Why ``number`` must not be dialled for ``tenant`` (its outbound route, its do-not-call list)."""
    e164 = to_e164(number, tenant.country or "") if number else None
    candidates = [*spellings(number), *([e164] if e164 else [])]
    listed = await session.execute(
        select(m.DncNumber.number).where(m.DncNumber.tenant_id == tenant.id, m.DncNumber.number.in_(candidates))
    )
    return refusal(number, do_not_call=set(listed.scalars().all()), has_route=bool(tenant.outbound), e164=e164)


async def request(
    session: AsyncSession, tenant: m.Tenant, agent: m.Agent, number: str, now: datetime, *, contact_id: int | None
) -> tuple[int, Refusal | None]:
    """Store a click-to-call request (or its refusal) in the caller's transaction (not committed)."""
    reason = await check(session, tenant, number)
    row = m.AgentCall(
        tenant_id=tenant.id,
        agent_id=agent.id,
        origin=Origin.DESKTOP,
        phase=Phase.REFUSED if reason else Phase.REQUESTED,
        number=number,
        contact_id=contact_id,
        refused=reason,
        requested_at=now,
        ended_at=now if reason else None,
    )
    session.add(row)
    await session.flush()
    return row.id, reason


class AgentCallBook:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def prepare(self, tenant_name: str, agent_name: str, number: str, now: datetime) -> Prepared | Refused:
        """An agent's phone dialled ``number``: a row ``dialing`` (or ``refused``, with why)."""
        async with self.store.session() as session:
            found = await self._agent(session, tenant_name, agent_name)
            if found is None:
                return Refused(None, Refusal.UNKNOWN_AGENT)
            tenant, agent = found
            reason = await check(session, tenant, number)
            row = m.AgentCall(
                tenant_id=tenant.id,
                agent_id=agent.id,
                origin=Origin.PHONE,
                phase=Phase.REFUSED if reason else Phase.DIALING,
                number=number,
                refused=reason,
                requested_at=now,
                ended_at=now if reason else None,
            )
            session.add(row)
            await session.commit()
            if reason is not None or tenant.outbound is None:
                return Refused(row.id, reason or Refusal.NO_ROUTE)
            route = OutboundRoute.from_data(tenant.outbound)
            return Prepared(row.id, tenant.id, tenant.name, f"{tenant.name}-{agent.name}", number, route, agent.id)

    async def claim_requests(self, now: datetime) -> list[Claimed]:
        """Click-to-call requests not taken yet, now ``ringing`` (by one voice service: the update decides); those
        older than REQUEST_TTL_S are refused ``expired`` instead, never rung."""
        if not await peek.exists(self.store, _REQUESTED):  # polled every second: no write transaction for nothing
            return []
        async with self.store.session() as session:
            expired = await session.execute(
                update(m.AgentCall)
                .where(
                    m.AgentCall.phase == Phase.REQUESTED,
                    m.AgentCall.origin == Origin.DESKTOP,
                    m.AgentCall.requested_at < now - timedelta(seconds=REQUEST_TTL_S),
                )
                .values(phase=Phase.REFUSED, refused=Refusal.EXPIRED, ended_at=now)
                .returning(m.AgentCall.id)
            )
            for expired_id in expired.scalars().all():
                await preview_calls.not_placed(session, expired_id, now)
            rows = await session.execute(
                select(m.AgentCall.id, m.AgentCall.number, m.Tenant.name, m.Agent.name)
                .join(m.Agent, m.Agent.id == m.AgentCall.agent_id)
                .join(m.Tenant, m.Tenant.id == m.AgentCall.tenant_id)
                .where(m.AgentCall.phase == Phase.REQUESTED, m.AgentCall.origin == Origin.DESKTOP)
                .order_by(m.AgentCall.id)
            )
            claimed = []
            for row_id, number, tenant, agent in rows.all():
                taken = await session.execute(
                    update(m.AgentCall)
                    .where(m.AgentCall.id == row_id, m.AgentCall.phase == Phase.REQUESTED)
                    .values(phase=Phase.RINGING_AGENT)
                )
                if getattr(taken, "rowcount", 0) == 1:
                    claimed.append(Claimed(row_id, f"{tenant}-{agent}", number))
            await session.commit()
            return claimed

    async def take_up(self, row_id: int, now: datetime) -> Prepared | Refused:
        """The agent answered a click-to-call: checked again (the list may have changed), then ``dialing``."""
        async with self.store.session() as session:
            row = await session.get(m.AgentCall, row_id)
            if row is None:
                return Refused(None, Refusal.UNKNOWN_AGENT)
            tenant = await session.get(m.Tenant, row.tenant_id)
            agent = await session.get(m.Agent, row.agent_id)
            assert tenant is not None and agent is not None  # foreign keys
            reason = await check(session, tenant, row.number)
            if reason is not None or tenant.outbound is None:
                row.phase, row.refused, row.ended_at = Phase.REFUSED, reason or Refusal.NO_ROUTE, now
                await preview_calls.not_placed(session, row.id, now, do_not_call=reason is Refusal.DO_NOT_CALL)
                await session.commit()
                return Refused(row.id, reason or Refusal.NO_ROUTE)
            row.phase = Phase.DIALING
            await session.commit()
            route = OutboundRoute.from_data(tenant.outbound)
            return Prepared(row.id, tenant.id, tenant.name, f"{tenant.name}-{agent.name}", row.number, route, agent.id)

    async def refuse(self, row_id: int, reason: Refusal, now: datetime) -> None:
        async with self.store.session() as session:
            row = await session.get(m.AgentCall, row_id)
            if row is not None and row.phase in Phase.OPEN:
                row.phase, row.refused, row.ended_at = Phase.REFUSED, reason, now
                await preview_calls.not_placed(session, row.id, now)
                await session.commit()

    async def dialing(self, call: Prepared, channel_id: str, now: datetime) -> int:
        """The customer's leg is being dialled: the outbound interaction (the agent's, the contact's if known)."""
        async with self.store.tenant(call.tenant_id) as session:
            row = await session.get(m.AgentCall, call.row_id)
            assert row is not None
            contact_id = row.contact_id
            if contact_id is None:
                tenant = await session.get(m.Tenant, call.tenant_id)
                e164 = to_e164(call.number, tenant.country if tenant and tenant.country else "") or call.number
                match = await contact_by_phone(session, e164)
                contact_id = match.contact_id if match else None
            interaction = m.Interaction(
                channel=Channel.VOICE,
                direction=Direction.OUTBOUND,
                agent_id=row.agent_id,
                contact_id=contact_id,
                external_id=channel_id,
                from_address=call.route.caller_id,
                to_address=call.number,
                offered_at=now,
            )
            session.add(interaction)
            await session.flush()
            row.interaction_id, row.contact_id = interaction.id, contact_id
            data = {"number": call.number, "agent_call": row.id, "origin": row.origin}
            session.add(
                m.InteractionEvent(
                    interaction_id=interaction.id, kind=Kind.DIALING, at=now, agent_id=row.agent_id, data=data
                )
            )
            await session.commit()
            return interaction.id

    async def answered(self, call: Prepared, interaction_id: int, now: datetime) -> None:
        async with self.store.tenant(call.tenant_id) as session:
            interaction = await session.get(m.Interaction, interaction_id)
            row = await session.get(m.AgentCall, call.row_id)
            if interaction is not None:
                interaction.answered_at = now
            if row is not None:
                row.phase = Phase.TALKING
                await preview_calls.answered(session, row.id, interaction_id if interaction else None, now)
            await session.commit()

    async def recording(self, call: Prepared, interaction_id: int, name: str) -> None:
        """The call is recorded as ``name`` (the journey shows it; the file reaches the repository when it ends)."""
        async with self.store.tenant(call.tenant_id) as session:
            interaction = await session.get(m.Interaction, interaction_id)
            if interaction is not None:
                interaction.recording = name
                await session.commit()

    async def ended(
        self, call: Prepared, interaction_id: int | None, now: datetime, outcome: Outcome, detail: str, cause: int = 0
    ) -> None:
        """The call is over (``cause``: the customer leg's Q.850 cause, read when it was never answered)."""
        async with self.store.tenant(call.tenant_id) as session:
            row = await session.get(m.AgentCall, call.row_id)
            if row is not None and row.phase in Phase.OPEN:
                row.phase, row.ended_at = Phase.ENDED, now
                answered = outcome is Outcome.ANSWERED
                await preview_calls.ended(session, row.id, answered=answered, cause=cause, now=now)
            interaction = await session.get(m.Interaction, interaction_id) if interaction_id else None
            if interaction is not None and interaction.ended_at is None:
                interaction.ended_at, interaction.outcome = now, outcome
                talk = (now - interaction.answered_at).total_seconds() if interaction.answered_at else 0.0
                data = {"outcome": outcome, "detail": detail, "talk_s": round(talk, 1)}
                session.add(
                    m.InteractionEvent(
                        interaction_id=interaction.id, kind=Kind.ENDED, at=now, agent_id=row.agent_id if row else None,
                        data=data,
                    )
                )  # fmt: skip
            await session.commit()

    async def left_open(self, now: datetime) -> int:
        """End the calls a previous run was carrying out (it stopped: their channels are not ours any more):
        rows ``ended``, interactions ``interrupted``. Requests not taken yet stay. Returns how many."""
        async with self.store.session() as session:
            rows = (
                await session.execute(
                    select(m.AgentCall).where(
                        m.AgentCall.phase.in_([Phase.RINGING_AGENT, Phase.DIALING, Phase.TALKING])
                    )
                )
            ).scalars().all()  # fmt: skip
            for row in rows:
                if row.phase == Phase.TALKING:  # a talk, as if it ended now; else its customer's line is lost
                    await preview_calls.ended(session, row.id, answered=True, cause=0, now=now)
                else:
                    await preview_calls.not_placed(session, row.id, now)
                row.phase, row.ended_at = Phase.ENDED, now
                interaction = await session.get(m.Interaction, row.interaction_id) if row.interaction_id else None
                if interaction is not None and interaction.ended_at is None:
                    interaction.ended_at, interaction.outcome = now, Outcome.INTERRUPTED
                    session.add(
                        m.InteractionEvent(
                            tenant_id=row.tenant_id, interaction_id=interaction.id, kind=Kind.ENDED, at=now,
                            agent_id=row.agent_id, data={"outcome": Outcome.INTERRUPTED, "detail": "interrupted"},
                        )
                    )  # fmt: skip
            await session.commit()
            return len(rows)

    @staticmethod
    async def _agent(session: AsyncSession, tenant_name: str, agent_name: str) -> tuple[m.Tenant, m.Agent] | None:
        found = await session.execute(
            select(m.Tenant, m.Agent)
            .join(m.Agent, m.Agent.tenant_id == m.Tenant.id)
            .where(m.Tenant.name == tenant_name, m.Agent.name == agent_name)
        )
        pair = found.first()
        return (pair[0], pair[1]) if pair else None
