"""The slots refreshed on a timer: `tvoxcc insight run`, in-process and as a real process until SIGTERM."""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import func, select

from tests.cli import Tvox
from tests.test_insight_day import D, t
from tests.test_insight_store import insert_day
from tvoxcc.insight import runner
from tvoxcc.insight.api import build_report
from tvoxcc.insight.model import Dimension
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

T = TypeVar("T")


async def add_call(store: Store, tenant_id: int, offered: datetime, answered_after_s: float | None) -> None:
    """One inbound call through the sales queue, as the voice service and the ACD store it."""
    async with store.session() as s:
        queue = (
            await s.execute(select(m.Queue.id).where(m.Queue.tenant_id == tenant_id, m.Queue.name == "sales"))
        ).scalar_one()
        answered = offered + timedelta(seconds=answered_after_s) if answered_after_s is not None else None
        call = m.Interaction(
            tenant_id=tenant_id,
            channel="voice",
            offered_at=offered,
            answered_at=answered,
            ended_at=offered + timedelta(seconds=90),
            queue_id=queue if answered else None,
            outcome="answered" if answered else "abandoned",
        )
        s.add(call)
        await s.flush()
        s.add(
            m.InteractionEvent(
                tenant_id=tenant_id, at=offered, kind="item-queued", interaction_id=call.id, queue_id=queue
            )
        )
        await s.commit()


async def slot_offered(store: Store, tenant_id: int, slot: datetime) -> int:
    async with store.session() as s:
        found = await s.execute(
            select(func.coalesce(func.sum(m.InsightSlot.offered), 0)).where(
                m.InsightSlot.tenant_id == tenant_id,
                m.InsightSlot.sl_threshold_s == 20.0,
                m.InsightSlot.dimension == "queue",
                m.InsightSlot.slot_at == slot,
            )
        )
        return int(found.scalar_one())


async def test_a_new_call_is_in_the_slots_after_one_tick(store: Store) -> None:
    acme = await insert_day(store)
    globex = await insert_day(store, "globex")
    now = t("16:07:00")
    ticks: asyncio.Queue[list[runner.Refreshed]] = asyncio.Queue()
    stop = asyncio.Event()
    service = asyncio.create_task(
        runner.run_service(store, stop, every_s=0.05, clock=lambda: now, on_tick=ticks.put_nowait)
    )
    first = await asyncio.wait_for(ticks.get(), 30)
    assert {r.tenant for r in first} == {"acme", "globex"} and all(r.end == t("16:00:00") for r in first)
    before = await slot_offered(store, acme, t("15:45:00"))
    await add_call(store, acme, t("15:50:00"), 12)  # ended 15:51:30, offered in a finished slot
    await asyncio.wait_for(ticks.get(), 30)
    assert await slot_offered(store, acme, t("15:45:00")) == before + 1
    assert await slot_offered(store, globex, t("15:45:00")) == before  # the other tenant is untouched
    stop.set()
    assert await asyncio.wait_for(service, 30) >= 2
    # the day's report: slots up to 16:00, the rest of the day live; both parts agree with an all-live report
    await add_call(store, acme, t("16:05:00"), None)  # after the slots: seen through the live tail
    mixed = await build_report(store, "acme", D.date(), D.date(), Dimension.QUEUE, basic=True)
    assert mixed.total.offered == 9 + 2 and mixed.total.abandoned == 2 + 1
    async with store.session() as s:
        await s.execute(m.InsightRefresh.__table__.delete())
    live = await build_report(store, "acme", D.date(), D.date(), Dimension.QUEUE, basic=True)
    assert live.rows == mixed.rows


async def test_other_thresholds_once_refreshed_are_kept_up_to_date(store: Store) -> None:
    from tvoxcc.insight import slots

    acme = await insert_day(store)
    await slots.refresh(store, acme, t("12:00:00"), sl_threshold_s=30, short_abandon_s=5)
    done = await runner.refresh_all(store, t("18:00:00"))
    assert sorted((r.sl_threshold_s, r.end) for r in done) == [(20.0, t("18:00:00")), (30.0, t("18:00:00"))]
    stop = asyncio.Event()
    stop.set()
    assert await runner.refresh_all(store, t("18:00:00"), stop) == []  # a stop request is honoured at once


def _wait_for(process: subprocess.Popen[str], text: str, timeout: float) -> list[str]:
    """Lines of the process's stderr up to the first that contains ``text``."""
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
            if text in line:
                return lines
    raise AssertionError(f"no {text!r} in {timeout} s:\n{''.join(lines)}")


def on_db(url: str, action: Callable[[Store], Awaitable[T]]) -> T:
    """One action on a Store of its own event loop (asyncpg connections belong to the loop that made them)."""

    async def go() -> T:
        store = Store.from_url(url)
        try:
            return await action(store)
        finally:
            await store.dispose()

    return asyncio.run(go())


@pytest.mark.usefixtures("migrated_url")
def test_insight_run_refreshes_on_a_timer_and_stops_on_sigterm(tvox_any: Tvox, db_url: str) -> None:
    acme = on_db(db_url, insert_day)
    env = {**os.environ, "TVOXCC_CONFIG": str(tvox_any.config)}
    service = subprocess.Popen(
        [sys.executable, "-m", "tvoxcc", "insight", "run", "--every", "1"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_for(service, "tick 1:", 60)
        # a call offered 20 minutes ago lies in a finished slot: the next tick must pick it up
        offered = datetime.now(UTC) - timedelta(minutes=20)
        slot = datetime.fromtimestamp(int(offered.timestamp()) // 900 * 900, UTC)

        async def add_and_count(store: Store) -> int:
            await add_call(store, acme, offered, 5)
            return await slot_offered(store, acme, slot)

        assert on_db(db_url, add_and_count) == 0  # not in the slots yet
        deadline = time.monotonic() + 30
        while on_db(db_url, lambda store: slot_offered(store, acme, slot)) == 0:
            assert time.monotonic() < deadline, "the call never reached the slots"
            _wait_for(service, "insight: tick", 10)
    finally:
        service.send_signal(signal.SIGTERM)
        _, err = service.communicate(timeout=30)
    assert service.returncode == 0, err
    assert "insight: stopped after" in err and "Traceback" not in err


def test_insight_run_once(tvox: Tvox) -> None:
    assert "refreshed 0 tenant slot sets" in tvox.ok("insight", "run", "--once")
    tvox.ok("tenant", "add", "acme")
    assert "refreshed 1 tenant slot sets (0 rebuilt)" in tvox.ok("insight", "run", "--once")
    result = tvox("insight", "run", "--every", "0")
    assert result.exit_code != 0 and "--every" in result.output
