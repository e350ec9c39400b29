"""The desktop's "Pause recording" / "Resume recording": a request row from the web app to the voice service.

The web app has no line to Asterisk (as click-to-call, tvoxcc.agentcalls): ``request`` stores a
``recording_requests`` row when the agent has a recorded call connected — a voice interaction of theirs, not
ended, with a recording — and refuses otherwise (``NoRecordedCall``). The voice service polls ``claim``: each
row is taken once (the update on ``taken_at`` decides between services) and carried out by the same code as the
agent's ``*78`` / ``*79`` (tvoxcc.voice.call_recordings), so the silence and the row's gaps are the same.
Requests older than REQUEST_TTL_S are taken and dropped: a pause arriving after the call moved on would be
wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.queues.model import Channel
from tvoxcc.recordings.pause import RecordingAction
from tvoxcc.store import models as m
from tvoxcc.store import peek
from tvoxcc.store.engine import Store

REQUEST_TTL_S = 30
DESK_ACTIONS = (RecordingAction.PAUSE, RecordingAction.RESUME)
_NOT_TAKEN = peek.probe(select(m.RecordingRequest.id).where(m.RecordingRequest.taken_at.is_(None)))  # store.peek


class NoRecordedCall(Exception):
    """The agent has no recorded call connected: nothing to pause or resume."""

    message = "you have no recorded call connected"


@dataclass(frozen=True, slots=True)
class Claimed:
    row_id: int
    tenant_id: int
    agent_id: int
    action: RecordingAction
    stale: bool  # older than REQUEST_TTL_S: taken, not carried out


async def recorded_call(session: AsyncSession, agent_id: int) -> int | None:
    """The agent's connected recorded call (its interaction id), the latest answered one."""
    return await session.scalar(
        select(m.Interaction.id)
        .where(
            m.Interaction.agent_id == agent_id,
            m.Interaction.channel == Channel.VOICE,
            m.Interaction.answered_at.is_not(None),
            m.Interaction.ended_at.is_(None),
            m.Interaction.recording.is_not(None),
        )
        .order_by(m.Interaction.answered_at.desc())
        .limit(1)
    )


async def request(session: AsyncSession, tenant_id: int, agent_id: int, action: RecordingAction, now: datetime) -> int:
    """Store the agent's request (the caller commits); NoRecordedCall when there is no call to act on."""
    if action not in DESK_ACTIONS:
        raise ValueError(f"not a desktop recording action: {action}")
    interaction = await recorded_call(session, agent_id)
    if interaction is None:
        raise NoRecordedCall
    row = m.RecordingRequest(
        tenant_id=tenant_id, agent_id=agent_id, action=action, interaction_id=interaction, requested_at=now
    )
    session.add(row)
    await session.flush()
    return row.id


async def claim(store: Store, now: datetime) -> list[Claimed]:
    """The requests not taken yet, now taken by this service (a row another service took is not returned)."""
    claimed: list[Claimed] = []
    if not await peek.exists(store, _NOT_TAKEN):
        return claimed
    async with store.session() as session:
        rows = await session.execute(
            select(m.RecordingRequest).where(m.RecordingRequest.taken_at.is_(None)).order_by(m.RecordingRequest.id)
        )
        for row in rows.scalars().all():
            taken = await session.execute(
                update(m.RecordingRequest)
                .where(m.RecordingRequest.id == row.id, m.RecordingRequest.taken_at.is_(None))
                .values(taken_at=now)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                stale = row.requested_at < now - timedelta(seconds=REQUEST_TTL_S)
                claimed.append(Claimed(row.id, row.tenant_id, row.agent_id, RecordingAction(row.action), stale))
        await session.commit()
    return claimed
