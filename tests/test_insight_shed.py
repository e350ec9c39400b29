"""Calls the overloaded voice service sheds are counted apart in Insight, on every path (both backends).

A shed call (tvoxcc.voice.overload: the busy message at once, outcome ``shed``, no queue) is not offered to
a queue, so it is neither abandoned nor in the service level; the reports, the slots, the day summary and
the wallboard's figures show it as ``shed``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tvoxcc.insight import slots
from tvoxcc.insight.api import build_report, day_summary
from tvoxcc.insight.model import Dimension, Interval
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.directory import Directory
from tvoxcc.web import data

DAY = date(2026, 3, 10)
NINE = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)  # 09:00 in Rome


async def acme_day(store: Store) -> int:
    """acme: two calls shed at 09:00 and 09:10 (stored by the voice service's own path), one answered in
    sales, one that hung up in the IVR."""
    async with store.session() as s:
        tenant = m.Tenant(name="acme", display_name="ACME", timezone="Europe/Rome", country="IT")
        s.add(tenant)
        await s.flush()
        service = m.Service(tenant_id=tenant.id, name="sales", display_name="Sales")
        s.add(service)
        await s.flush()
        queue = m.Queue(tenant_id=tenant.id, name="sales-q", service_id=service.id)
        s.add(queue)
        await s.flush()
        common = {"tenant_id": tenant.id, "channel": "voice", "service_id": service.id}
        s.add(m.Interaction(**common, offered_at=NINE, answered_at=NINE + timedelta(seconds=8), queue_id=queue.id,
                            ended_at=NINE + timedelta(seconds=98), outcome="answered"))  # fmt: skip
        s.add(
            m.Interaction(**common, offered_at=NINE, ended_at=NINE + timedelta(seconds=30), outcome="abandoned-in-ivr")
        )
        await s.commit()
        tenant_id = tenant.id
    directory = Directory(store)
    route = await directory.route("acme", "sales")
    directory.shed(route, "02 1234 5678", "shed-1", NINE)
    directory.shed(route, "02 8765 4321", "shed-2", NINE + timedelta(minutes=10))
    await directory.recorder.close_writer()
    return tenant_id


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
async def test_shed_calls_are_counted_apart_in_reports_slots_summary_and_wallboard(store: Store) -> None:
    tenant_id = await acme_day(store)
    for basic in (False, True):  # the core over the loaded facts, and the SQL aggregate (no slots yet)
        by_service = await build_report(store, "acme", DAY, DAY, Dimension.SERVICE, basic=basic, plots=False)
        total = by_service.total
        assert (total.shed, total.offered, total.answered, total.abandoned, total.short_abandoned) == (2, 1, 1, 0, 0)
        assert total.service_level == 100.0  # shed calls never reached a queue: not in the service level
        assert {group: f.shed for (group, _), f in by_service.rows.items()} == {"sales": 2}
        by_queue = await build_report(store, "acme", DAY, DAY, Dimension.QUEUE, basic=basic, plots=False)
        assert {group: (f.offered, f.shed) for (group, _), f in by_queue.rows.items()} == {
            "-": (0, 2),  # they never had a queue
            "sales-q": (1, 0),
        }
        hourly = await build_report(
            store, "acme", DAY, DAY, Dimension.INTERVAL, interval=Interval.HOUR, basic=basic, plots=False
        )
        assert [(at.hour, f.shed) for (_, at), f in hourly.rows.items()] == [(9, 2)]
    # The stored 15-minute slots hold them too (09:00 and 09:00-09:15: both in one slot).
    await slots.refresh(store, tenant_id, datetime(2026, 3, 11, tzinfo=UTC))
    assert await slots.covers(store, tenant_id, by_service.params)
    from_slots = await build_report(store, "acme", DAY, DAY, Dimension.SERVICE, basic=True, plots=False)
    assert (from_slots.total.shed, from_slots.total.offered) == (2, 1)
    assert {group: f.shed for (group, _), f in from_slots.rows.items()} == {"sales": 2}
    # The one-screen summary (CLI, demo) and the wallboard's figures of the day.
    summary = (await day_summary(store, "acme", DAY)).splitlines()
    assert summary[1].split()[-1] == "SHED" and summary[2].split()[0] == "all" and summary[2].split()[-1] == "2"
    config = await data.tenant_config(store, "acme")
    assert config is not None
    figures = await data.day_figures(store, config, NINE + timedelta(hours=3), None)
    assert figures["total"]["shed"] == 2 and figures["total"]["offered"] == 1
