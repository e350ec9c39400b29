"""One call per question, from the store to finished figures: what the CLI, the demo and the web use.

text = await day_summary(store, "acme", date(2026, 3, 10))      # the demo's one-screen summary
report = await build_report(store, "acme", first, last, Dimension.QUEUE)
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from tvoxcc.admin.errors import AdminError
from tvoxcc.insight import slots as stored_slots
from tvoxcc.insight.aggregate import basic_slots, roll_up, to_slots
from tvoxcc.insight.figures import totals
from tvoxcc.insight.followups import followup_slots
from tvoxcc.insight.metrics import compute
from tvoxcc.insight.model import Dimension, Interval, Params
from tvoxcc.insight.report import Report, summary
from tvoxcc.insight.store import day_range, find_tenant, load_dataset, load_names
from tvoxcc.store.engine import Store


async def build_report(
    store: Store,
    tenant: str,
    first: date,
    last: date,
    by: Dimension,
    *,
    interval: Interval = Interval.DAY,
    sl_threshold_s: float = 20.0,
    short_abandon_s: float = 5.0,
    basic: bool = False,
    plots: bool = True,
) -> Report:
    """Figures for the tenant's local days first..last; ``basic`` aggregates in SQL (counts, waits only).

    ``plots`` also computes the whole tenant per interval (``Report.series``) for the HTML charts.
    """
    if first > last:
        raise AdminError(f"--from {first.isoformat()} is after --to {last.isoformat()}")
    row = await find_tenant(store, tenant)
    start, end = day_range(first, last, row.tz)
    names = await load_names(store, row.id)
    params = Params(
        start=start,
        end=end,
        interval=interval,
        tz=row.tz,
        sl_threshold_s=sl_threshold_s,
        short_abandon_s=short_abandon_s,
        wrapup_s=names.wrapup_s,
    )
    # A one-day report by day would plot a single point: its charts go by the hour instead.
    plot = replace(params, interval=Interval.HOUR) if interval is Interval.DAY and first == last else params
    if basic:
        # one query: its 15-minute slots roll up both to the report's rows and to the plots' series
        # the pre-aggregated slots as far as a refresh built them with these thresholds, the rest live
        upto = await stored_slots.built_until(store, row.id, params)
        if upto is None:
            slots = await basic_slots(store, row.id, params, by, names)
        else:
            head = replace(params, end=min(params.end, upto))
            slots = to_slots(await stored_slots.read(store, row.id, head, by), by, names)
            if upto < params.end:  # slot-aligned: the live tail starts where the slots stop
                slots += await basic_slots(store, row.id, replace(params, start=upto), by, names)
        slots += await followup_slots(store, row.id, params, by, names)  # small tables: always live
        rows = roll_up(slots, params.interval, params.tz)
        series = roll_up(slots, plot.interval, params.tz, by_group=False) if plots else {}
    else:
        data = await load_dataset(store, row.id, start, end, names)
        rows = compute(data, params, by)
        series = compute(data, plot, Dimension.INTERVAL) if plots else {}
    return Report(tenant, first, last, by, params, rows, series, basic)


async def day_summary(
    store: Store, tenant: str, day: date, *, sl_threshold_s: float = 20.0, short_abandon_s: float = 5.0
) -> str:
    """The one-screen summary of a tenant's day (offered, answered, abandoned, SL, ASA, AHT, NPS per queue)."""
    report = await build_report(
        store,
        tenant,
        day,
        day,
        Dimension.QUEUE,
        sl_threshold_s=sl_threshold_s,
        short_abandon_s=short_abandon_s,
    )
    # queue rows with nothing offered (callbacks or tickets without a queue) are not queue lines
    queues = {group: figures for (group, _), figures in report.rows.items() if figures.offered}
    # agent state time, callbacks and tickets of the whole tenant: the plots' series sum to it
    return summary(tenant, day, report.params, report.total, queues, tenant_wide=totals(report.series.values()))
