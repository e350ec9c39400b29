"""Retention: recordings older than their tenant's days are deleted, except those on legal hold."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from tvoxcc import audit
from tvoxcc.config import RecordingSettings
from tvoxcc.recordings.repository import Repository
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

log = logging.getLogger(__name__)
ACTOR = "system:retention"
_BATCH = 500


def retention_days(settings: RecordingSettings, tenant: str) -> int | None:
    """The tenant's days, else the default; None: kept until deleted."""
    own = settings.tenants.get(tenant)
    if own is not None and own.retention_days is not None:
        return own.retention_days
    return settings.retention_days


def cutoff(now: datetime, days: int) -> datetime:
    """Recordings started before this moment are past retention."""
    return now - timedelta(days=days)


@dataclass(frozen=True, slots=True)
class Purged:
    tenant: str
    days: int
    deleted: int
    held: int  # past retention but kept for a legal hold


async def purge_expired(store: Store, repository: Repository, now: datetime) -> list[Purged]:
    """Delete every tenant's expired recordings (rows first, one audited transaction per batch, then files)."""
    async with store.session() as session:
        tenants = (await session.execute(select(m.Tenant.id, m.Tenant.name).order_by(m.Tenant.name))).all()
    done = []
    for tenant_id, name in tenants:
        days = retention_days(repository.settings, name)
        if days is None:
            continue
        before = cutoff(now, days)
        deleted, held = 0, 0
        while True:
            async with store.tenant(tenant_id) as session:
                expired = m.Recording.started_at < before
                rows = (
                    (
                        await session.execute(
                            select(m.Recording).where(expired, m.Recording.legal_hold.is_(False)).limit(_BATCH)
                        )
                    )
                    .scalars()
                    .all()
                )
                if not rows:
                    count_held = select(func.count()).select_from(m.Recording).where(expired)
                    held = (await session.execute(count_held)).scalar_one()
                    break
                for row in rows:
                    await session.delete(row)
                await audit.record(
                    session,
                    actor=ACTOR,
                    action=audit.AuditAction.RECORDING_PURGE,
                    tenant=name,
                    subject=f"{len(rows)} recordings older than {days} days",
                    detail={"ids": [r.id for r in rows], "before": before.isoformat()},
                )
                await session.commit()
            for row in rows:  # after the commit: a crash leaves a stray file, never a row without one
                repository.discard(row)
            deleted += len(rows)
        if deleted or held:
            log.info("recordings: %s: %d purged, %d past retention kept on legal hold", name, deleted, held)
        done.append(Purged(name, days, deleted, held))
    return done
