"""Campaign calls as outbound interactions: the one place they are opened and ended.

A line a person answers and the dialer connects to an agent is an outbound voice interaction of that agent
(the contact's, when the number is known), opened at the Connect and ended with the talk (outcome
``answered``, talk time in its ``ended`` event); a person abandoned by the 2 s rule, or a machine, is one
too, ended at once (``abandoned``, ``machine``) with no agent. Busy, no answer and failed lines reached
nobody: their attempt row is all there is. Its ``external_id`` is the campaign's ACD item when the line has
one — the desktop's script panel finds the interaction by the item it is offered (tvoxcc.web.scripts) — else
the attempt's own name. The attempt row points at it, so reports reach the campaign from the interaction.

Everything is written in the runner's transaction (tvoxcc.campaigns.runner): attempt and interaction agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.interactions import Direction, Outcome
from tvoxcc.interactions import InteractionEventKind as Kind
from tvoxcc.journey.identify import contact_by_phone
from tvoxcc.journey.phones import to_e164
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m


@dataclass(frozen=True, slots=True)
class CampaignCalls:
    """The interactions of one campaign's lines (tenant ``tenant``, numbers read in ``region``)."""

    campaign_id: int
    tenant: str
    region: str
    caller_id: str = ""

    async def connected(
        self, session: AsyncSession, attempt_id: int, agent: str, external_id: str | None, now: datetime
    ) -> int | None:
        """The agent was given the answered line: the interaction opens (answered now: the talk starts)."""
        attempt = await session.get(m.CampaignAttempt, attempt_id)
        if attempt is None:
            return None
        agent_row = await self._agent_row(session, agent)
        given = await session.get(m.Interaction, attempt.interaction_id) if attempt.interaction_id else None
        if given is not None and given.ended_at is None:  # the first agent's phone refused it: the same call
            given.agent_id, interaction = agent_row, given
        else:
            interaction = await self._open(session, attempt, external_id, agent_row=agent_row)
        interaction.answered_at = now
        return interaction.id

    async def ended(self, session: AsyncSession, attempt_id: int, outcome: Outcome, now: datetime) -> None:
        """The line is over: a talk (``answered``), or a person abandoned or a machine (opened here if need be)."""
        attempt = await session.get(m.CampaignAttempt, attempt_id)
        if attempt is None:
            return
        interaction = await session.get(m.Interaction, attempt.interaction_id) if attempt.interaction_id else None
        if interaction is None:
            if outcome is Outcome.ANSWERED:  # no Connect was seen for it: nobody talked
                return
            interaction = await self._open(session, attempt, None, agent_row=None)
        if interaction.ended_at is not None:
            return
        interaction.ended_at, interaction.outcome = now, outcome
        if outcome is not Outcome.ANSWERED:  # the agent given the line never came on it: nobody talked
            interaction.answered_at = None
        talk = (now - interaction.answered_at).total_seconds() if interaction.answered_at else 0.0
        data = {"outcome": outcome, "talk_s": round(talk, 1), "campaign": self.campaign_id, "attempt": attempt.id}
        session.add(
            m.InteractionEvent(
                interaction_id=interaction.id, kind=Kind.ENDED, at=now, agent_id=interaction.agent_id, data=data
            )
        )

    async def _open(
        self, session: AsyncSession, attempt: m.CampaignAttempt, external_id: str | None, *, agent_row: int | None
    ) -> m.Interaction:
        e164 = to_e164(attempt.number, self.region) or attempt.number
        match = await contact_by_phone(session, e164)
        interaction = m.Interaction(
            channel=Channel.VOICE,
            direction=Direction.OUTBOUND,
            agent_id=agent_row,
            contact_id=match.contact_id if match else None,
            external_id=external_id or f"campaign-{self.campaign_id}-attempt-{attempt.id}",
            from_address=self.caller_id,
            to_address=attempt.number,
            offered_at=attempt.started_at,
        )
        session.add(interaction)
        await session.flush()
        attempt.interaction_id = interaction.id
        data = {"number": attempt.number, "campaign": self.campaign_id, "attempt": attempt.id}
        session.add(
            m.InteractionEvent(
                interaction_id=interaction.id, kind=Kind.DIALING, at=attempt.started_at, agent_id=agent_row, data=data
            )
        )
        return interaction

    async def _agent_row(self, session: AsyncSession, agent: str) -> int | None:
        """The agents table's row of a router agent id (``tenant-name``)."""
        name = agent.removeprefix(f"{self.tenant}-")
        return await session.scalar(select(m.Agent.id).where(m.Agent.name == name))
