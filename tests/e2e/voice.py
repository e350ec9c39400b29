"""The voice service run in-process against the lab, with a clock the test sets."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tvoxcc.config import Settings
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.app import VoiceApp
from tvoxcc.voice.service import main_host


@dataclass
class SettableClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


class VoiceLog(logging.Handler):
    """The voice service's last log lines (INFO and up, whatever pytest's level): a failing lab test quotes the
    ones about what it waited for."""

    def __init__(self, keep: int = 2000) -> None:
        super().__init__(logging.INFO)
        self.lines: deque[str] = deque(maxlen=keep)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def about(self, *words: str, last: int = 40) -> str:
        """The last ``last`` lines naming any of ``words``, one per line."""
        found = [line for line in self.lines if any(w in line for w in words)]
        return "\n".join(found[-last:]) or "(no voice log line names it)"


VOICE_LOG = VoiceLog()


def _follow_voice_log() -> None:
    for name in ("tvoxcc.voice", "tvoxcc.ari"):
        logger = logging.getLogger(name)
        if VOICE_LOG not in logger.handlers:
            logger.addHandler(VOICE_LOG)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)


@asynccontextmanager
async def running_voice(settings: Settings, clock: SettableClock) -> AsyncIterator[VoiceApp]:
    """The main host's services (Stasis app, ACD, FastAGI) in this process, on the test's clock."""
    _follow_voice_log()
    store = Store.from_url(settings.database.url.get_secret_value())
    try:
        async with main_host(settings, store, clock=clock) as app:
            yield app
    finally:
        await store.dispose()


async def interactions(settings: Settings) -> list[dict[str, Any]]:
    """Every voice interaction with its events, oldest first."""
    store = Store.from_url(settings.database.url.get_secret_value())
    try:
        async with store.session() as session:
            rows = (await session.execute(select(m.Interaction).order_by(m.Interaction.id))).scalars().all()
            out = []
            for row in rows:
                events = (
                    await session.execute(
                        select(m.InteractionEvent).where(m.InteractionEvent.interaction_id == row.id)
                        .order_by(m.InteractionEvent.id)
                    )
                ).scalars().all()  # fmt: skip
                out.append(
                    {
                        "id": row.id,
                        "channel_id": row.external_id,
                        "outcome": row.outcome,
                        "ended": row.ended_at is not None,
                        "ticket_id": row.ticket_id,
                        "events": [(e.kind, e.data) for e in events],
                    }
                )
            return out
    finally:
        await store.dispose()


def path_of(interaction: dict[str, Any]) -> list[str]:
    return [data["node"] for kind, data in interaction["events"] if kind == "ivr-node"]


async def wait_until_ended(settings: Settings, count: int, within: float = 15.0) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        rows = await interactions(settings)
        if len(rows) >= count and all(r["ended"] for r in rows[-count:]):
            return rows
        if asyncio.get_running_loop().time() > deadline:
            return rows
        await asyncio.sleep(0.2)
