"""Audit log benchmark: what the hash chain costs a write, and how fast `audit verify` reads the chain.

Times, on a fresh migrated database (SQLite file by default, ``--postgres`` for a private PostgreSQL):
- ``audit.record`` in a transaction of its own (bump the head row, hash, insert, update the head, commit),
  against the baseline measured in the same run: one INSERT of the same columns into a plain table with
  no chain, committed the same way;
- 4 writers at once (the head row makes them take turns), then ``audit.verify`` over every row written,
  which must find the chain intact;
- ``audit.verify`` throughput in rows per second.
Prints each figure and, last, the ratio chained/plain write (median). `--quick` writes fewer rows.

Aim: an audited write within 3x a plain insert-and-commit of the same row (median), the chain intact after
concurrent writers, and verify at 10,000 rows/s or more; the same with --quick; exit 1 when missed.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _contract import Aim, arguments
from _db import add_database_options, bench_database
from sqlalchemy import text

from tvoxcc import audit
from tvoxcc.store.engine import Store

DETAIL = {"queues": {"changed": ["sales-it"]}, "agents": {"added": ["alice"]}}


async def plain_writes(store: Store, count: int) -> list[float]:
    async with store.session() as s:
        await s.execute(
            text(
                "CREATE TABLE bench_plain (seq INTEGER PRIMARY KEY, at VARCHAR(40), actor VARCHAR(128), "
                "action VARCHAR(48), tenant VARCHAR(64), subject VARCHAR(255), detail TEXT, "
                "prev_hash VARCHAR(64), hash VARCHAR(64))"
            )
        )
        await s.commit()
    times = []
    for i in range(count):
        started = time.perf_counter()
        async with store.session() as s:
            await s.execute(
                text("INSERT INTO bench_plain VALUES (:seq, :at, :actor, :action, :tenant, :subject, :detail, :p, :h)"),
                {
                    "seq": i + 1,
                    "at": "2026-12-07T00:00:00+00:00",
                    "actor": "cli:bench",
                    "action": "admin.change",
                    "tenant": "acme",
                    "subject": "queues ~sales-it",
                    "detail": str(DETAIL),
                    "p": "0" * 64,
                    "h": "1" * 64,
                },
            )
            await s.commit()
        times.append(time.perf_counter() - started)
    return times


async def chained_writes(store: Store, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await audit.record_now(
            store,
            actor="cli:bench",
            action=audit.AuditAction.ADMIN_CHANGE,
            tenant="acme",
            subject="queues ~sales-it",
            detail=DETAIL,
        )
        times.append(time.perf_counter() - started)
    return times


async def run(url: str, count: int, aim: Aim) -> None:
    store = Store.from_url(url)
    try:
        # interleaved halves, so a drift of the shared machine hits both the same
        plain = await plain_writes(store, count // 2)
        chained = await chained_writes(store, count // 2)
        chained += await chained_writes(store, count - count // 2)
        async with store.session() as s:
            await s.execute(text("DROP TABLE bench_plain"))
            await s.commit()
        plain += await plain_writes(store, count - count // 2)
        plain_ms, chained_ms = statistics.median(plain) * 1000, statistics.median(chained) * 1000
        print(f"plain insert+commit median: {plain_ms:.3f} ms ({len(plain)} rows)")
        print(f"audit.record+commit median: {chained_ms:.3f} ms ({len(chained)} rows)")

        async def writer() -> None:
            await chained_writes(store, count // 4)

        started = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(4)))
        print(f"4 concurrent writers: {4 * (count // 4)} rows in {time.perf_counter() - started:.2f} s")
        started = time.perf_counter()
        async with store.session() as s:
            rows, problem = await audit.verify(s)
        elapsed = time.perf_counter() - started
        print(f"verify: {rows} rows in {elapsed:.3f} s ({rows / elapsed:,.0f} rows/s), problem: {problem}")
        ratio = chained_ms / plain_ms
        aim.check(f"audited write / plain write {ratio:.2f}x <= 3x", ratio <= 3)
        aim.check(
            f"chain intact after concurrent writers ({rows} rows)", problem is None and rows == count + 4 * (count // 4)
        )
        aim.check(f"verify {rows / elapsed:,.0f} rows/s >= 10,000", rows / elapsed >= 10_000)
        aim.finish("audited write / plain write (median)", ratio)
    finally:
        await store.dispose()


def main() -> None:
    parser = arguments(__doc__)
    add_database_options(parser)
    args = parser.parse_args()
    aim = Aim(__doc__, quick=args.quick)
    count = 400 if args.quick else 4000
    with bench_database(args) as url:
        asyncio.run(run(url, count, aim))


if __name__ == "__main__":
    main()
