"""Real WAV files for recordings tests (sox makes them, soxi measures them) and storing them as the voice
service does."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import datetime
from pathlib import Path

from tests.cli import Tvox
from tests.components import component_missing
from tvoxcc.config import load_settings
from tvoxcc.recordings.repository import RecordingMeta, Repository
from tvoxcc.store.engine import Store


def make_wav(path: Path, seconds: float, frequency: int = 440) -> Path:
    try:
        subprocess.run(
            [
                "sox",
                "-n",
                "-r",
                "8000",
                "-c",
                "1",
                "-b",
                "16",
                str(path),
                "synth",
                str(seconds),
                "sine",
                str(frequency),
            ],
            check=True,
            capture_output=True,
        )
    except FileNotFoundError:
        component_missing("sox not installed (apt-get install sox)")
    return path


def soxi_seconds(path: Path) -> float:
    """The duration sox reads from the file; raises CalledProcessError when it is not audio."""
    done = subprocess.run(["soxi", "-D", str(path)], check=True, capture_output=True, text=True)
    return float(done.stdout)


def store_recording(tvox: Tvox, tenant: str, audio: Path, meta: RecordingMeta) -> int:
    """Store ``audio`` through the repository, as the voice service does when a recording finishes."""
    settings = load_settings(tvox.config)
    data = audio.read_bytes()

    async def go() -> int:
        store = Store.from_url(settings.database.url.get_secret_value())
        try:
            return await Repository.of(settings).store(store, tenant, meta, data)
        finally:
            await store.dispose()

    return asyncio.run(go())


def ids_of(tvox: Tvox, tenant: str) -> dict[str, int]:
    """Row ids of the tenant and its queues and agents, by name."""
    settings = load_settings(tvox.config)

    async def go() -> dict[str, int]:
        from sqlalchemy import select

        from tvoxcc.store import models as m

        store = Store.from_url(settings.database.url.get_secret_value())
        try:
            async with store.session() as s:
                tid = (await s.execute(select(m.Tenant.id).where(m.Tenant.name == tenant))).scalar_one()
                ids = {"tenant": tid}
                for model in (m.Queue, m.Agent):
                    for row_id, name in (
                        await s.execute(select(model.id, model.name).where(model.tenant_id == tid))
                    ).all():
                        ids[name] = row_id
                return ids
        finally:
            await store.dispose()

    return asyncio.run(go())


def meta(
    ids: dict[str, int], started: datetime, *, queue: str | None = None, agent: str | None = None, number: str = ""
) -> RecordingMeta:
    return RecordingMeta(
        tenant_id=ids["tenant"],
        started_at=started,
        queue_id=ids[queue] if queue else None,
        agent_id=ids[agent] if agent else None,
        number=number,
    )
