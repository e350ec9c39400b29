"""A restarted voice service closes a call a killed run left open though it is over, and keeps the live ones
(tvoxcc.voice.left_open, at the resync of the first connection), with the lab's Asterisk.

The kill that leaves such a call: the ACD committed its end, the recorder (its own linger) had not written the
interaction's yet. Its row is made here as the recorder makes a call's (answered, never ended), while two callers
wait in the IVR of the killed run: their channels live on in Asterisk, their interactions must stay open.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Tvox
from tests.e2e.test_voice_restart import (  # noqa: F401 (hold_flow: a fixture)
    hold_flow,
    killed_with_callers_in_the_ivr,
    start_voice,
    wait_ready,
)
from tests.e2e.voice import interactions
from tvoxcc.interactions import Direction, Outcome
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.directory import Directory

pytestmark = pytest.mark.asterisk

CALLERS = 2


async def left_open(lab: Any) -> int:
    """A call of acme's the killed run served and ended in the ACD, its interaction never closed: its id."""
    store = Store.from_url(lab.settings.database.url.get_secret_value())
    try:
        route = await Directory(store).route("acme", "sales")
        since = datetime.now(UTC) - timedelta(minutes=2)
        async with store.tenant(route.tenant_id) as session:
            row = m.Interaction(
                channel=Channel.VOICE, direction=Direction.INBOUND, service_id=route.service_id,
                external_id=f"{int(since.timestamp())}.999", from_address="+390212345678", to_address="sales",
                offered_at=since, answered_at=since + timedelta(seconds=20), outcome=Outcome.QUEUED,
            )  # fmt: skip
            session.add(row)
            await session.commit()
            return row.id
    finally:
        await store.dispose()


async def test_a_restart_closes_a_call_left_open_and_keeps_the_live_ones(
    lab: Any,
    sipp: Any,
    hold_flow: Tvox,  # noqa: F811
    tmp_path: Path,
) -> None:
    log = tmp_path / "voice.log"
    callers, before = await killed_with_callers_in_the_ivr(lab, sipp, log, CALLERS, 12000)
    voice: subprocess.Popen[bytes] | None = None
    try:
        stale = await left_open(lab)

        voice = start_voice(lab, log)
        wait_ready(log, 2)  # the resync, closing what it closes, is done and stored by then
        after = {r["id"]: r for r in await interactions(lab.settings)}
        closed = after[stale]
        assert closed["ended"] and closed["outcome"] == Outcome.ANSWERED, log.read_text()[-3000:]
        assert [data for kind, data in closed["events"] if kind == "ended"] == [{"outcome": "answered"}]
        live = [r for i, r in after.items() if i != stale][before:]
        assert len(live) == CALLERS and not any(r["ended"] for r in live)  # still in the IVR: kept open
        finished = await asyncio.to_thread(callers.wait, 60)
    finally:
        if voice is not None and voice.poll() is None:
            os.killpg(voice.pid, signal.SIGTERM)
            voice.wait(10)
    finished.check()
    assert f"call {closed['channel_id']} (interaction {stale}) ended while no service recorded it" in (log.read_text())
