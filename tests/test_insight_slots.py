"""Pre-aggregated slots on SQLite and PostgreSQL: built, read back by the report, refreshed incrementally."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.test_insight_day import D, params, t
from tests.test_insight_store import BASIC, insert_day
from tvoxcc.insight import slots
from tvoxcc.insight.aggregate import basic_counts
from tvoxcc.insight.api import build_report
from tvoxcc.insight.model import Dimension, Interval
from tvoxcc.insight.store import load_names
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

DAY = D.date()


@pytest.mark.parametrize("by", [Dimension.INTERVAL, Dimension.QUEUE, Dimension.AGENT, Dimension.SERVICE])
async def test_stored_slots_give_the_live_figures(store: Store, by: Dimension) -> None:
    tenant_id = await insert_day(store)
    names = await load_names(store, tenant_id)
    live = await basic_counts(store, tenant_id, params(Interval.HOUR), by, names)
    assert not await slots.covers(store, tenant_id, params())
    await slots.refresh(store, tenant_id, t("00:00:00", 12))
    assert await slots.covers(store, tenant_id, params())
    report = await build_report(store, "acme", DAY, DAY, by, interval=Interval.HOUR, basic=True)
    # rows with calls (the others hold the callbacks and tickets, aggregated live)
    assert {k for k, f in report.rows.items() if f.offered} == live.keys()
    for key, figures in live.items():
        for name in BASIC:
            assert getattr(report.rows[key], name) == pytest.approx(getattr(figures, name)), (key, name)
    # other thresholds are not what the slots hold: computed live, still right
    other = await build_report(store, "acme", DAY, DAY, Dimension.INTERVAL, sl_threshold_s=60, basic=True)
    assert other.total.service_level == pytest.approx(4 / 8 * 100)


async def test_a_refresh_rebuilds_only_recent_slots_and_sees_later_changes(store: Store) -> None:
    tenant_id = await insert_day(store)
    first = await slots.refresh(store, tenant_id, t("12:07:00"))  # mid-day: slots before 12:00 built
    assert first[1] == t("12:00:00")
    async with store.session() as s:
        call = m.Interaction(
            tenant_id=tenant_id, channel="voice", offered_at=t("11:50:00"), ended_at=t("11:51:00"), outcome="abandoned"
        )
        s.add(call)
        await s.flush()
        queue = (await s.execute(select(m.Queue.id).where(m.Queue.name == "sales"))).scalar_one()
        s.add(
            m.InteractionEvent(
                tenant_id=tenant_id, at=t("11:50:00"), kind="item-queued", interaction_id=call.id, queue_id=queue
            )
        )
        await s.commit()
    again = await slots.refresh(store, tenant_id, t("18:00:00"))
    assert again == (t("12:00:00") - timedelta(days=1), t("18:00:00"))  # the last day again, then on
    report = await build_report(store, "acme", DAY, DAY, Dimension.INTERVAL, basic=True)
    assert not await slots.covers(store, tenant_id, params())  # built to 18:00 only: the day is read live
    await slots.refresh(store, tenant_id, t("00:00:00", 12))
    stored = await build_report(store, "acme", DAY, DAY, Dimension.INTERVAL, basic=True)
    assert stored.total.offered == report.total.offered == 10 and stored.total.abandoned == 3
    async with store.session() as s:
        count = (await s.execute(select(func.count()).select_from(m.InsightSlot))).scalar_one()
    assert count > 0


async def test_a_short_margin_rebuilds_only_the_recent_slots(store: Store) -> None:
    tenant_id = await insert_day(store)
    await slots.refresh(store, tenant_id, t("12:07:00"))
    again = await slots.refresh(store, tenant_id, t("13:00:00"), margin=timedelta(hours=2))
    assert again == (t("10:00:00"), t("13:00:00"))
    report = await build_report(store, "acme", DAY, DAY, Dimension.QUEUE, interval=Interval.HOUR, basic=True)
    live = await basic_counts(
        store, tenant_id, params(Interval.HOUR), Dimension.QUEUE, await load_names(store, tenant_id)
    )
    assert {k for k, f in report.rows.items() if f.offered} == live.keys()
    for key, figures in live.items():
        assert report.rows[key].offered == figures.offered and report.rows[key].talk_s == figures.talk_s, key
