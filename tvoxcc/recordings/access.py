"""Reading, holding and deleting one recording, each audited: the CLI and the web app both go through here."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from tvoxcc import audit
from tvoxcc.recordings.query import one
from tvoxcc.recordings.repository import Repository
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

A = audit.AuditAction


async def _tenant_id(store: Store, tenant: str) -> int:
    async with store.session() as session:
        found = (await session.execute(select(m.Tenant.id).where(m.Tenant.name == tenant))).scalar_one_or_none()
    if found is None:
        raise LookupError(f"unknown tenant {tenant!r}")
    return found


async def read_audio(
    store: Store,
    repository: Repository,
    tenant: str,
    recording_id: int,
    *,
    actor: str,
    action: audit.AuditAction,
    only_agent: str | None = None,
    only_agents: frozenset[str] | None = None,
    detail: dict[str, str] | None = None,
) -> tuple[m.Recording, bytes]:
    """The recording's audio in clear, audited as ``action`` (play, download, export; ``detail``: the part
    asked for, a browser's byte range). With ``only_agent`` only that agent's recordings are found (an agent
    listening to their own calls), with ``only_agents`` only those agents' (a supervisor scoped to groups)."""
    tenant_id = await _tenant_id(store, tenant)
    async with store.tenant(tenant_id) as session:
        row, _queue, agent = await one(session, tenant_id, recording_id)
        if (only_agent is not None and agent != only_agent) or (only_agents is not None and agent not in only_agents):
            raise LookupError(f"no recording {recording_id}")
        audio = await asyncio.to_thread(repository.audio, row, tenant)
        subject = f"recording {row.id}"
        await audit.record(session, actor=actor, action=action, tenant=tenant, subject=subject, detail=detail or {})
        await session.commit()
    return row, audio


async def set_hold(store: Store, tenant: str, recording_id: int, held: bool, *, actor: str, reason: str = "") -> None:
    tenant_id = await _tenant_id(store, tenant)
    async with store.tenant(tenant_id) as session:
        row, _queue, _agent = await one(session, tenant_id, recording_id)
        row.legal_hold = held
        await audit.record(
            session,
            actor=actor,
            action=A.RECORDING_HOLD if held else A.RECORDING_RELEASE,
            tenant=tenant,
            subject=f"recording {row.id}",
            detail={"reason": reason} if reason else {},
        )
        await session.commit()


class HeldRecording(Exception):
    """A recording on legal hold cannot be deleted until released."""


async def delete(store: Store, repository: Repository, tenant: str, recording_id: int, *, actor: str) -> None:
    tenant_id = await _tenant_id(store, tenant)
    async with store.tenant(tenant_id) as session:
        row, _queue, _agent = await one(session, tenant_id, recording_id)
        if row.legal_hold:
            raise HeldRecording(f"recording {recording_id} is on legal hold: release it first")
        await session.delete(row)
        await audit.record(
            session,
            actor=actor,
            action=A.RECORDING_DELETE,
            tenant=tenant,
            subject=f"recording {row.id}",
            detail={"sha256": row.sha256, "started_at": row.started_at.isoformat()},
        )
        await session.commit()
    repository.discard(row)
