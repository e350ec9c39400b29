"""Insight daily-report benchmark: the report's SQL path against the equivalent hand-written GROUP BY.

Generates N inbound calls (default 1,000,000, the issue's target) on one tenant's day with their events
(item-queued, item-completed, RONAs, IVR noise: ~3.1 events a call), plus 10% on the days around it, on
SQLite (default), on --db URL, or on a private PostgreSQL started for the run (--postgres). Rows go in with
bulk Core inserts (COPY on PostgreSQL). Times, in the same run and on the same data:

- raw SQL: one hand-written GROUP BY queue over the day's interactions (offered, answered, abandoned),
- report --basic, live: ``build_report(..., basic=True)`` by queue (SQL aggregate by 15' slot + tz roll-up),
- insight refresh: building the pre-aggregated slots, then the incremental refresh (the last day again),
  and one ``insight run`` tick (the last 2 h again),
- report --basic from the slots (what the daily report reads once slots are kept up to date),
- report (full core): load the day's facts and compute every figure in Python, unless --skip-full.

Prints each timing; the last line is the ratio daily report (from slots) / raw SQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import case, func, insert, select, text

from tvoxcc.insight import slots
from tvoxcc.insight.api import build_report
from tvoxcc.insight.model import Dimension
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import upgrade

DAY = date(2026, 3, 10)
QUEUES, AGENTS, BATCH = 20, 200, 20_000
END = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC) + timedelta(days=1)  # "now" after the report day


async def populate(store: Store, count: int, seed: int) -> int:
    rng = random.Random(seed)
    async with store.session() as s:
        tenant = m.Tenant(name="bench", timezone="Europe/Rome")
        s.add(tenant)
        await s.flush()
        service = m.Service(tenant_id=tenant.id, name="main", channels=["voice"])
        s.add(service)
        await s.flush()
        queues = [m.Queue(tenant_id=tenant.id, name=f"q{i}", service_id=service.id) for i in range(QUEUES)]
        agents = [
            m.Agent(tenant_id=tenant.id, name=f"a{i}", extension=str(1000 + i), sip_password="x") for i in range(AGENTS)
        ]
        s.add_all([*queues, *agents])
        await s.commit()
        tid, qids, aids = tenant.id, [q.id for q in queues], [a.id for a in agents]
    midnight = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC) - timedelta(hours=1)  # Rome is UTC+1 in March
    total = count + count // 10
    interactions: list[dict[str, object]] = []
    events: list[dict[str, object]] = []
    # executemany takes its columns from the first row: every event names them all
    blank = {"tenant_id": tid, "agent_id": None, "queue_id": None, "data": {}}
    started = time.perf_counter()
    for n in range(1, total + 1):
        day_offset = 0 if n <= count else rng.choice((-1, 1))
        offered = midnight + timedelta(days=day_offset, seconds=rng.uniform(0, 86_400))
        queue = rng.choice(qids)
        wait = rng.expovariate(1 / 25)
        row: dict[str, object] = {
            "id": n,
            **blank,
            "channel": "voice",
            "direction": "inbound",
            "service_id": None,
            "queue_id": None,
            "agent_id": None,
            "offered_at": offered,
            "created_at": offered,
            "answered_at": None,
            "ended_at": None,
            "outcome": None,
            "from_address": "",
            "to_address": "",
        }
        events.append({**blank, "at": offered, "kind": "ivr-node", "interaction_id": n, "data": {}})
        events.append(
            {**blank, "at": offered, "kind": "item-queued", "interaction_id": n, "queue_id": queue, "data": {}}
        )
        if rng.random() < 0.85:
            agent = rng.choice(aids)
            answered, talk = offered + timedelta(seconds=wait), rng.uniform(30, 600)
            if rng.random() < 0.05:
                events.append(
                    {
                        **blank,
                        "at": answered,
                        "kind": "ring-no-answer",
                        "interaction_id": n,
                        "agent_id": rng.choice(aids),
                        "queue_id": queue,
                        "data": {},
                    }
                )
            ended = answered + timedelta(seconds=talk)
            row.update(queue_id=queue, agent_id=agent, answered_at=answered, ended_at=ended, outcome="answered")
            events.append(
                {
                    **blank,
                    "at": ended,
                    "kind": "item-completed",
                    "interaction_id": n,
                    "agent_id": agent,
                    "queue_id": queue,
                    "data": {"value": talk},
                }
            )
        else:
            row.update(ended_at=offered + timedelta(seconds=wait), outcome="abandoned")
        interactions.append(row)
        if len(interactions) >= BATCH or n == total:
            await bulk_insert(store, interactions, events)
            interactions, events = [], []
            print(f"  inserted {n:,}/{total:,} calls ({time.perf_counter() - started:.0f} s)", flush=True)
    return tid


async def bulk_insert(store: Store, interactions: list[dict[str, object]], events: list[dict[str, object]]) -> None:
    """One batch: COPY on PostgreSQL, an executemany of Core inserts on SQLite (no ORM bookkeeping)."""
    async with store.session() as s:
        if store.engine.dialect.name == "postgresql":
            raw = (await (await s.connection()).get_raw_connection()).driver_connection
            assert raw is not None
            for table, rows in ((m.Interaction.__table__, interactions), (m.InteractionEvent.__table__, events)):
                columns = [c for c in rows[0] if c in table.c]  # the event dicts carry no id: serial
                records = [tuple(json.dumps(r[c]) if c == "data" else r[c] for c in columns) for r in rows]
                await raw.copy_records_to_table(table.name, records=records, columns=columns)
        else:
            await s.execute(text("PRAGMA synchronous=OFF"))  # a bench database: no fsync per batch
            await s.execute(insert(m.Interaction.__table__), interactions)
            await s.execute(insert(m.InteractionEvent.__table__), events)
        await s.commit()


async def raw_sql(store: Store, tid: int) -> list[object]:
    """The baseline: what a hand-written daily query by queue costs on the same rows."""
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC) - timedelta(hours=1)
    i = m.Interaction
    async with store.session() as s:
        rows = await s.execute(
            select(
                i.queue_id,
                func.count(),
                func.count(i.answered_at),
                func.sum(case((i.outcome == "abandoned", 1), else_=0)),
            )
            .where(i.tenant_id == tid, i.offered_at >= start, i.offered_at < start + timedelta(days=1))
            .group_by(i.queue_id)
        )
        return list(rows.all())


async def basic_report(store: Store) -> object:
    return await build_report(store, "bench", DAY, DAY, Dimension.QUEUE, basic=True, plots=False)


async def timed(label: str, coro: object) -> float:
    started = time.perf_counter()
    await coro  # type: ignore[misc]
    elapsed = time.perf_counter() - started
    print(f"{label}: {elapsed:.3f} s")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="calls on the report day (default 1,000,000)")
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--postgres", action="store_true", help="start a private PostgreSQL for the run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-full", action="store_true", help="do not time the full core report")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    server = None
    if args.postgres:
        from tests.servers.postgres import start_postgres

        server = start_postgres()
    try:
        url = server.url() if server else args.db or f"sqlite:///{tmp.name}/bench.db"
        upgrade(url)  # alembic runs its own event loop: before ours
        asyncio.run(run(args, url))
    finally:
        if server is not None:
            server.stop()
        tmp.cleanup()


async def run(args: argparse.Namespace, url: str) -> None:
    store = Store.from_url(url)
    backend = store.engine.dialect.name
    print(f"insight bench: {args.count:,} calls on {DAY} (+{args.count // 10:,} around it) on {backend}")
    tid = await populate(store, args.count, args.seed)
    async with store.session() as s:
        await s.execute(text("ANALYZE"))  # fresh statistics, as a production database would have
    report = await build_report(store, "bench", DAY, DAY, Dimension.QUEUE, basic=True, plots=False)
    total = report.total
    print(
        f"day: offered {total.offered:,}, answered {total.answered:,}, abandoned {total.abandoned:,}, "
        f"SL {total.service_level:.1f}%, ASA {total.asa_s:.1f} s"
    )
    baseline = min([await timed("raw SQL GROUP BY queue", raw_sql(store, tid)) for _ in range(3)])
    live = min([await timed("report --basic, live SQL path", basic_report(store)) for _ in range(2)])
    # built at noon of the report day, then brought up to after its end: the incremental refresh rebuilds
    # the last MARGIN (a day) of slots, the worst case of a periodic refresh
    noon = datetime(DAY.year, DAY.month, DAY.day, 11, tzinfo=UTC)
    await timed("insight refresh (first build, up to noon)", slots.refresh(store, tid, noon))
    await timed(
        "insight refresh (incremental, noon -> next day: rebuilds the last 24 h)", slots.refresh(store, tid, END)
    )
    # one `insight run` tick a quarter-hour later: the last 2 h again
    await timed(
        "insight run tick (the last 2 h again)",
        slots.refresh(store, tid, END + timedelta(minutes=15), margin=timedelta(hours=2)),
    )
    stored = min([await timed("report --basic, from the slots", basic_report(store)) for _ in range(3)])
    by_agent = build_report(store, "bench", DAY, DAY, Dimension.AGENT, basic=True, plots=False)
    await timed("report --basic by agent, from the slots", by_agent)
    # the slots give the live path's figures (a bench that measured a wrong answer would be worthless)
    again = (await build_report(store, "bench", DAY, DAY, Dimension.QUEUE, basic=True, plots=False)).total
    assert (again.offered, again.answered, again.abandoned, again.answered_in_sl) == (
        total.offered,
        total.answered,
        total.abandoned,
        total.answered_in_sl,
    ), "the slots disagree with the live SQL path"
    if not args.skip_full:
        await timed(
            "report (full core, every figure)", build_report(store, "bench", DAY, DAY, Dimension.QUEUE, plots=False)
        )
    await store.dispose()
    print(f"ratio live SQL path / raw SQL: {live / baseline:.2f}x")
    print(f"ratio daily report (from slots) / raw SQL: {stored / baseline:.2f}x")


if __name__ == "__main__":
    main()
