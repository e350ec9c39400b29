"""Finding recordings: the filters of `recording list` and the web list, one query for both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.store import models as m


@dataclass(frozen=True, slots=True)
class RecordingFilter:
    since: datetime | None = None
    until: datetime | None = None
    queue: str | None = None
    agent: str | None = None  # name
    agents: frozenset[str] | None = None  # only these agents' (a user who sees some agents only)
    contact_id: int | None = None
    number: str | None = None  # the customer's number, or its last digits
    min_duration_s: float | None = None
    held: bool | None = None
    limit: int | None = None


def _select() -> Select[m.Recording, str, str]:
    return (
        select(m.Recording, m.Queue.name, m.Agent.name)
        .outerjoin(m.Queue, m.Queue.id == m.Recording.queue_id)
        .outerjoin(m.Agent, m.Agent.id == m.Recording.agent_id)
    )


def public(row: m.Recording, queue: str | None, agent: str | None) -> dict[str, Any]:
    """A recording as `--json` and the web API show it (no path on disk)."""
    return {
        "id": row.id,
        "started_at": row.started_at.isoformat(),
        "duration_s": round(row.duration_s, 2),
        "queue": queue,
        "campaign": row.campaign,
        "agent": agent,
        "number": row.number,
        "contact_id": row.contact_id,
        "interaction_id": row.interaction_id,
        "direction": row.direction,
        "format": row.format,
        "size_bytes": row.size_bytes,
        "sha256": row.sha256,
        "encrypted": row.encrypted,
        "legal_hold": row.legal_hold,
        "gaps": row.gaps,
        "leg": row.leg,
    }


async def find(session: AsyncSession, tenant_id: int, spec: RecordingFilter) -> list[dict[str, Any]]:
    """Recordings of one tenant matching every filter given, newest first."""
    stmt = _select().where(m.Recording.tenant_id == tenant_id)
    if spec.since is not None:
        stmt = stmt.where(m.Recording.started_at >= spec.since)
    if spec.until is not None:
        stmt = stmt.where(m.Recording.started_at < spec.until)
    if spec.queue is not None:
        stmt = stmt.where(m.Queue.name == spec.queue)
    if spec.agent is not None:
        stmt = stmt.where(m.Agent.name == spec.agent)
    if spec.agents is not None:
        stmt = stmt.where(m.Agent.name.in_(sorted(spec.agents)))
    if spec.contact_id is not None:
        stmt = stmt.where(m.Recording.contact_id == spec.contact_id)
    if spec.number is not None:
        stmt = stmt.where(m.Recording.number.endswith(spec.number, autoescape=True))
    if spec.min_duration_s is not None:
        stmt = stmt.where(m.Recording.duration_s >= spec.min_duration_s)
    if spec.held is not None:
        stmt = stmt.where(m.Recording.legal_hold.is_(spec.held))
    stmt = stmt.order_by(m.Recording.started_at.desc(), m.Recording.id.desc())
    if spec.limit is not None:
        stmt = stmt.limit(spec.limit)
    return [public(row, queue, agent) for row, queue, agent in (await session.execute(stmt)).all()]


async def one(session: AsyncSession, tenant_id: int, recording_id: int) -> tuple[m.Recording, str | None, str | None]:
    """The recording with its queue and agent names; LookupError when the tenant has no such recording."""
    found = (
        await session.execute(_select().where(m.Recording.tenant_id == tenant_id, m.Recording.id == recording_id))
    ).first()
    if found is None:
        raise LookupError(f"no recording {recording_id}")
    row, queue, agent = found
    return row, queue, agent
