"""`tvoxcc insight`: contact-center statistics from the stored interactions and events."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import signal
from datetime import UTC, date, datetime

import click

from tvoxcc.cli._common import emit_json, emit_table, fail, open_store, run, settings_of, tenant_option, with_store
from tvoxcc.insight import runner, slots
from tvoxcc.insight.api import build_report, day_summary
from tvoxcc.insight.hierarchy import HierarchyDimension, to_rows
from tvoxcc.insight.hierarchy_store import hierarchy_report
from tvoxcc.insight.model import Dimension, Interval
from tvoxcc.insight.report import Report, to_csv, to_html, to_json, to_table
from tvoxcc.insight.store import find_tenant
from tvoxcc.journey.api import reliability_of_days
from tvoxcc.journey.retention import purge_expired as purge_expired_rows
from tvoxcc.recordings.repository import Repository
from tvoxcc.recordings.retention import purge_expired
from tvoxcc.store.engine import Store

RENDER = {"table": to_table, "csv": to_csv, "json": to_json, "html": to_html}


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date: use YYYY-MM-DD")


@click.group()
def insight() -> None:
    """Reports and summaries: service level, ASA, AHT, abandons, pauses, NPS."""


@insight.command("report")
@tenant_option
@click.option("--from", "first", required=True, help="First local day, YYYY-MM-DD.")
@click.option("--to", "last", help="Last local day, YYYY-MM-DD (default: --from).")
@click.option(
    "--by",
    type=click.Choice([d.value for d in Dimension] + [h.value for h in HierarchyDimension]),
    default="queue",
    show_default=True,
    help="group, campaign and disposition: contacts, answered, talk time and AHT (tvoxcc.insight.hierarchy).",
)
@click.option("--interval", type=click.Choice([i.value for i in Interval]), default="1d", show_default=True)
@click.option("--sl-threshold", type=click.FloatRange(min=0), default=20.0, show_default=True, help="Seconds.")
@click.option(
    "--short-abandon",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds; shorter not counted.",
)
@click.option("--format", "fmt", type=click.Choice(list(RENDER)), default="table", show_default=True)
@click.option("--basic", is_flag=True, help="Counts and waits only, aggregated by the database (fast on big days).")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.pass_context
def report(
    ctx: click.Context,
    tenant: str,
    first: str,
    last: str | None,
    by: str,
    interval: str,
    sl_threshold: float,
    short_abandon: float,
    fmt: str,
    basic: bool,
    as_json: bool,
) -> None:
    """Figures per queue, agent, service, channel or interval (or group, campaign, disposition) over local days."""
    start = _date(first, "--from")
    assert start is not None
    end = _date(last, "--to") or start
    if start > end:
        fail(f"--from {start.isoformat()} is after --to {end.isoformat()}")
    fmt = "json" if as_json else fmt
    if by in {h.value for h in HierarchyDimension}:
        _hierarchy(ctx, tenant, start, end, HierarchyDimension(by), fmt)
        return

    async def go(store: Store) -> Report:
        return await build_report(
            store,
            tenant,
            start,
            end,
            Dimension(by),
            interval=Interval(interval),
            sl_threshold_s=sl_threshold,
            short_abandon_s=short_abandon,
            basic=basic,
            plots=fmt == "html",
        )

    click.echo(RENDER[fmt](with_store(ctx, go)).rstrip("\n"))


def _hierarchy(ctx: click.Context, tenant: str, first: date, last: date, by: HierarchyDimension, fmt: str) -> None:
    if fmt == "html":
        fail(f"--format html: not offered for --by {by.value} (use table, csv or json)")
    rows = to_rows(by, with_store(ctx, lambda store: hierarchy_report(store, tenant, first, last, by)))
    if fmt == "json":
        emit_json(rows)
    elif fmt == "csv":
        columns = [by.value, "contacts", "answered", "handled", "talk_s", "aht_s"]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buffer.getvalue().rstrip("\n"))
    else:
        emit_table(rows, [by.value, "contacts", "answered", "handled", "talk_s", "aht_s"])


@insight.command("summary")
@tenant_option
@click.option("--date", "day", help="Local day, YYYY-MM-DD (default: today in the tenant's time zone).")
@click.option("--sl-threshold", type=click.FloatRange(min=0), default=20.0, show_default=True, help="Seconds.")
@click.pass_context
def summary(ctx: click.Context, tenant: str, day: str | None, sl_threshold: float) -> None:
    """A one-screen summary of a day: offered, answered, abandoned, SL, ASA, AHT, NPS per queue."""
    chosen = _date(day, "--date")

    async def go(store: Store) -> str:
        # The clock is read here, at the edge: "today" is the tenant's local date.
        when = chosen or datetime.now((await find_tenant(store, tenant)).tz).date()
        text = await day_summary(store, tenant, when, sl_threshold_s=sl_threshold)
        book = await reliability_of_days(store, tenant, when, when)  # the Customer Journey's figure
        return f"{text}\n{book.line()}"

    click.echo(with_store(ctx, go))


@insight.command("refresh")
@tenant_option
@click.option("--sl-threshold", type=click.FloatRange(min=0), default=20.0, show_default=True, help="Seconds.")
@click.option("--short-abandon", type=click.FloatRange(min=0), default=5.0, show_default=True, help="Seconds.")
@click.option("--rebuild", is_flag=True, help="Rebuild every slot, not only the last day's.")
@click.pass_context
def refresh(ctx: click.Context, tenant: str, sl_threshold: float, short_abandon: float, rebuild: bool) -> None:
    """Bring the pre-aggregated 15-minute slots up to now (`report --basic` reads them when they cover it)."""

    async def go(store: Store) -> tuple[datetime, datetime]:
        row = await find_tenant(store, tenant)
        return await slots.refresh(
            store,
            row.id,
            datetime.now(UTC),  # the clock is read here, at the edge
            sl_threshold_s=sl_threshold,
            short_abandon_s=short_abandon,
            rebuild=rebuild,
        )

    start, end = with_store(ctx, go)
    if start >= end:
        click.echo(f"slots of {tenant!r} are up to date")
    else:
        click.echo(f"rebuilt slots of {tenant!r} from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC")


@insight.command("run")
@click.option(
    "--every",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds between refreshes.",
)
@click.option("--once", is_flag=True, help="One refresh of every tenant (and the retention purge), then exit.")
@click.pass_context
def run_(ctx: click.Context, every: float, once: bool) -> None:
    """The Insight service: refresh every tenant's 15-minute slots on a timer, until SIGTERM.

    Once an hour it also deletes what is older than each tenant's retention (`tenant set --retention-days`).
    """
    settings = settings_of(ctx)
    logging.basicConfig(level=settings.logging.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def go() -> None:
        async with open_store(settings) as store:
            repository = Repository.of(settings)

            async def purge(now: datetime) -> None:
                """The tenants' retention: interactions, mails and tickets, then the recordings' repository."""
                for tenant, counts in (
                    await purge_expired_rows(store, now, settings.asterisk.recordings_dir, repository)
                ).items():
                    logging.getLogger(__name__).info("insight: retention purge of tenant %s: %s", tenant, counts)
                try:
                    await purge_expired(store, repository, now)
                except OSError as exc:  # a recordings folder unreadable: say so, retry next hour
                    logging.getLogger(__name__).warning("recordings: purge failed: %s", exc)

            if once:
                now = datetime.now(UTC)
                done = await runner.refresh_all(store, now)
                click.echo(f"refreshed {len(done)} tenant slot sets ({sum(r.rebuilt for r in done)} rebuilt)")
                for tenant, counts in (
                    await purge_expired_rows(store, now, settings.asterisk.recordings_dir, repository)
                ).items():
                    click.echo(f"retention: tenant {tenant}: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n))
                purged = await purge_expired(store, repository, now)
                click.echo(f"purged {sum(p.deleted for p in purged)} recordings past retention")
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            from tvoxcc.cluster import ServiceKind, beating, run_as_leader

            async def refresh(active: asyncio.Event) -> None:  # the clock is read here, at the edge, once per tick
                await runner.run_service(
                    store, active, every_s=every, clock=lambda: datetime.now(UTC), housekeeping=purge
                )

            # One active Insight service (lease "insight"): a second one stands by and never refreshes a tick twice.
            async with beating(store, ServiceKind.INSIGHT, lease="insight"):
                await run_as_leader(store, "insight", stop, refresh)

    run(go())
