"""The demo's recordings and audit part: the demo call's recording in the repository, exported, and the audit
log that saw the import, the export and everything between checked end to end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from tvoxcc import audit
from tvoxcc.config import Settings
from tvoxcc.recordings import access
from tvoxcc.recordings.audio import inspect
from tvoxcc.recordings.query import RecordingFilter, find
from tvoxcc.recordings.repository import Repository
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


async def recordings_and_audit(
    store: Store, settings: Settings, out_dir: Path, say: Callable[[str], None], *, tenant: str = "acme"
) -> None:
    async with store.session() as session:
        tenant_id = (await session.execute(select(m.Tenant.id).where(m.Tenant.name == tenant))).scalar_one()
    async with store.tenant(tenant_id) as session:
        rows = await find(session, tenant_id, RecordingFilter())
    if not rows:
        raise RuntimeError("the demo call's recording did not reach the recordings repository")
    say("")
    say(f"Recordings (queue sales-it records always): tvoxcc recording list -t {tenant}")
    for row in rows:
        say(
            f"  #{row['id']} {row['duration_s']:.1f} s {row['queue']} agent {row['agent']} from {row['number']}"
            f" {row['format']} {row['size_bytes']} bytes sha256 {row['sha256'][:12]}…"
        )
    first = rows[-1]
    _row, audio = await access.read_audio(
        store,
        Repository.of(settings),
        tenant,
        first["id"],
        actor="cli:demo",
        action=audit.AuditAction.RECORDING_EXPORT,
    )
    target = out_dir / "demo-recording.wav"
    target.write_bytes(audio)
    say(f"  exported #{first['id']} to {target}: {inspect(audio).duration_s:.1f} s of WAV (recording export)")
    async with store.session() as session:
        count, problem = await audit.verify(session)
        last = (await audit.entries(session, limit=1))[0]
    if problem is not None:
        raise RuntimeError(f"the demo's audit log does not verify: {problem}")
    say(f"Audit log: {count} rows, chain intact (tvoxcc audit verify); last: {last['action']} by {last['actor']}")
