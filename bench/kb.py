"""Knowledge Base search benchmark: our search API against the raw full-text query, same data, same run.

Generates N articles (default 100,000; --quick: 10,000) over several tenants from a support-desk vocabulary
and a long tail of rare words, 20,000 in all, with a Zipf-Mandelbrot distribution (titles of 3-7 words, bodies
of 30-250 words, a few tags, 80% English, 90% published), bulk-loaded with executemany (the FTS5 triggers /
PostgreSQL's kb_articles_search triggers index them).
Then, for the same random 1-3 word queries taken from article titles, interleaved (api and raw in turns
first, since the first to run a query warms the cache for the other), it times:

- raw: one hand-written statement sent as the driver's SQL on a pooled connection checked out for it (as any
  request would) — the tenant's published matches ranked by bm25 (FTS5, with the database's own snippet()) or
  ts_rank (PostgreSQL, ts_headline on the top 10); also shown on one connection held for the whole run,
- api: ``tvoxcc.kb.store.search`` as the CLI calls it — tenant session, query parsing, the ranked statement,
  Markdown-free highlighted snippets made in Python,
- suggest-style: the any-of-8-words query a ticket suggestion runs (reported, not in the ratio).

On SQLite (default), on --db URL, or on a private PostgreSQL started for the run (--postgres, the production
store). Prints p50/p95 of each; the last line is the ratio api p95 / raw p95.

Aim: the search API's p95 <= 20 ms and <= 1.5x the raw query's p95 at 100,000 articles (--quick: 10,000
articles, 200 queries, the same targets); exit 1 when missed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _contract import Aim, arguments
from _db import add_database_options, bench_database
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from tvoxcc.kb import store as kb
from tvoxcc.kb.query import any_of, parse_query
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

TENANTS, BATCH = 5, 5_000
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
DOMAIN = """account password reset login access user profile email address phone number invoice billing payment
refund credit card bank transfer order delivery shipping tracking courier parcel package return exchange
warranty repair replacement product device printer toner cartridge scanner laptop monitor keyboard mouse
battery charger cable adapter router modem wifi network internet connection vpn firewall server backup
restore database software update upgrade install uninstall license subscription plan renewal cancel contract
agent queue call callback voicemail ivr menu extension transfer hold music recording headset softphone sip
trunk did number porting outage incident ticket priority escalation sla response resolution customer
contact journey survey nps feedback report dashboard wallboard statistics export import csv pdf calendar
meeting holiday schedule shift break lunch training onboarding manager supervisor team skill language
italian english german french spanish translation template signature attachment spam filter mailbox folder
sync mobile app android iphone tablet browser chrome firefox cookie cache error message code timeout slow
crash freeze screen display brightness sound volume microphone camera video chat whatsapp sms social
facebook instagram privacy gdpr consent data deletion security breach phishing virus malware antivirus
encryption certificate ssl domain dns website page link form captcha notification alert reminder setting
configuration option feature bug workaround known issue release version compatibility requirement""".split()  # noqa: SIM905
FILLER = """the a an and or to of in on for with is are be can you your we our this that it if when then
please check make sure after before click open select go new use need will not by from as at all any""".split()  # noqa: SIM905
TAGS = "billing shipping account network hardware software voice mail security mobile howto faq policy".split()  # noqa: SIM905


def zipf_weights(n: int, s: float = 1.0, q: float = 30.0) -> list[float]:
    """Zipf-Mandelbrot: content words of real text (function words are FILLER) have a flatter head than 1/rank."""
    return [1 / ((rank + q) ** s) for rank in range(1, n + 1)]


SYLLABLES = "ka lo mi ter van sen dor pra li mu ron tel vis da ne por gal fi sta ber cor ul en is".split()  # noqa: SIM905
LONG_TAIL = 20_000  # product names, error codes, places...: the rare words that make real searches selective


class Writer:
    """Text from 20,000 words: the support-desk words at the head, a long tail of rare ones (product names...)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        tail_rng = random.Random(0)
        tail = {"".join(tail_rng.choices(SYLLABLES, k=tail_rng.randint(2, 4))) for _ in range(LONG_TAIL)}
        self.domain = DOMAIN[:]
        rng.shuffle(self.domain)
        self.domain += sorted(tail - set(DOMAIN))
        self.cumulative = list(itertools.accumulate(zipf_weights(len(self.domain))))

    def words(self, k: int) -> list[str]:
        return self.rng.choices(self.domain, cum_weights=self.cumulative, k=k)

    def title(self) -> str:
        return " ".join(self.words(self.rng.randint(3, 7))).capitalize()

    def body(self) -> str:
        out: list[str] = []
        for _ in range(self.rng.randint(3, 8)):  # sentences, some as Markdown list items or bold
            sentence = [w if self.rng.random() < 0.55 else self.rng.choice(FILLER) for w in self.words(20)]
            line = " ".join(sentence[: self.rng.randint(10, 32)]).capitalize() + "."
            out.append(("- " if self.rng.random() < 0.2 else "") + line.replace(" the ", " the **", 1) + "**")
        return "\n".join(out)


async def populate(store: Store, count: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    writer = Writer(rng)
    async with store.session() as s:
        tenants = [m.Tenant(name=f"bench{i}") for i in range(TENANTS)]
        s.add_all(tenants)
        await s.commit()
        tids = [t.id for t in tenants]
    rows: list[dict[str, object]] = []
    started = time.perf_counter()
    for n in range(1, count + 1):
        rows.append(
            {
                "tenant_id": tids[n % TENANTS],
                "slug": f"article-{n}",
                "title": writer.title(),
                "body": writer.body(),
                "language": "en" if rng.random() < 0.8 else "it",
                "tags": rng.sample(TAGS, rng.randint(0, 3)),
                "visibility": rng.choice(("public", "internal")),
                "status": "published" if rng.random() < 0.9 else "draft",
                "version": 1,
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
        if len(rows) == BATCH or n == count:
            async with store.session() as s:
                await s.execute(insert(m.KbArticle.__table__), rows)  # Core executemany, no ORM bookkeeping
                await s.commit()
            rows = []
            if n % 20_000 == 0 or n == count:
                print(f"  inserted {n:,}/{count:,} articles ({time.perf_counter() - started:.0f} s)", flush=True)
    return tids


def queries(count: int, seed: int) -> list[str]:
    rng = random.Random(seed + 1)
    writer = Writer(random.Random(seed))  # the same vocabulary ranks as the articles
    return [" ".join(writer.words(rng.choice((1, 2, 2, 3)))) for _ in range(count)]


RAW_SQLITE = (
    "SELECT a.slug, a.title, snippet(kb_articles_fts, 1, '[', ']', '…', 24), "
    f"bm25(kb_articles_fts, {kb.BM25_WEIGHTS}) AS r "
    "FROM kb_articles_fts JOIN kb_articles a ON a.id = kb_articles_fts.rowid "
    "WHERE kb_articles_fts MATCH ? AND a.tenant_id = ? AND a.status = 'published' ORDER BY r LIMIT 10"
)
RAW_PG = (
    "SELECT a.slug, a.title, ts_headline('simple', a.body, to_tsquery('simple', $1), 'MaxWords=24, MinWords=12'), "
    "top.score FROM (SELECT article_id AS id, ts_rank(search_vector, to_tsquery('simple', $1)) AS score "
    "FROM kb_articles_search WHERE tenant_id = $2 AND status = 'published' "
    "AND search_vector @@ to_tsquery('simple', $1) "
    "ORDER BY score DESC LIMIT 10) AS top JOIN kb_articles a ON a.id = top.id ORDER BY top.score DESC"
)


async def raw_query(conn: AsyncConnection, backend: str, tid: int, q: str) -> object:
    if backend == "sqlite":
        words = " ".join(f'"{w}"' for w in q.split())
        match = f'tenant_id : "{tid}" AND {{title body tags}} : ({words})'
        return (await conn.exec_driver_sql(RAW_SQLITE, (match, tid))).all()
    return (await conn.exec_driver_sql(RAW_PG, (" & ".join(q.split()), tid))).all()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(label: str, times: list[float]) -> float:
    p50, p95 = percentile(times, 50), percentile(times, 95)
    print(f"{label}: p50 {p50 * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms, mean {statistics.mean(times) * 1000:.2f} ms")
    return p95


async def timed(action: Callable[[], Awaitable[object]]) -> tuple[float, object]:
    started = time.perf_counter()
    result = await action()
    return time.perf_counter() - started, result


AIM_P95_MS, AIM_RATIO = 20.0, 1.5


async def run(args: argparse.Namespace, url: str) -> tuple[float, float]:
    """(api p95, raw p95) in seconds."""
    store = Store.from_url(url)
    backend = store.engine.dialect.name
    print(f"kb bench: {args.count:,} articles over {TENANTS} tenants on {backend}")
    started = time.perf_counter()
    tids = await populate(store, args.count, args.seed)
    print(f"bulk load with indexing: {time.perf_counter() - started:.1f} s")
    async with store.session() as s:
        await s.execute(text("ANALYZE"))
    rng = random.Random(args.seed + 2)
    texts = queries(args.queries, args.seed)
    api_times: list[float] = []
    raw_times: list[float] = []
    held_times: list[float] = []
    suggest_times: list[float] = []
    hits_total = 0
    async with store.engine.connect() as conn:
        for i, q in enumerate([*texts[:20], *texts]):  # the first 20 warm the caches up, not counted
            tid = rng.choice(tids)
            parsed = parse_query(q)

            async def api(tid: int = tid, parsed: object = parsed) -> object:
                async with store.tenant(tid) as session:
                    return await kb.search(session, parsed, kb.Filters())  # type: ignore[arg-type]

            async def raw(tid: int = tid, q: str = q, held: bool = False) -> object:
                if held:
                    return await raw_query(conn, backend, tid, q)
                async with store.engine.connect() as own:
                    return await raw_query(own, backend, tid, q)

            # Whichever runs first on a query pays for reading its pages into the cache: alternate the order.
            if i % 2:
                raw_time, _ = await timed(raw)
                api_time, hits = await timed(api)
            else:
                api_time, hits = await timed(api)
                raw_time, _ = await timed(raw)
            held_time, _ = await timed(lambda raw=raw: raw(held=True))  # type: ignore[misc]
            terms = [*q.split(), *(w for w in texts[(i + 1) % len(texts)].split())][:8]

            async def suggest(tid: int = tid, terms: list[str] = terms) -> object:
                async with store.tenant(tid) as session:
                    return await kb.search(session, any_of(terms), kb.Filters(), limit=3)

            suggest_time, _ = await timed(suggest)
            if i >= 20:
                api_times.append(api_time)
                raw_times.append(raw_time)
                held_times.append(held_time)
                suggest_times.append(suggest_time)
                hits_total += len(hits)  # type: ignore[arg-type]
    print(f"{len(texts)} queries of 1-3 words, {hits_total / len(texts):.1f} hits each on average (limit 10)")
    report("raw FTS query, one connection held for the run", held_times)
    raw_p95 = report("raw FTS query, a pooled connection per query", raw_times)
    api_p95 = report("kb search API", api_times)
    report("suggest-style any-of query (limit 3)", suggest_times)
    await store.dispose()
    print(json.dumps({"api_p95_ms": round(api_p95 * 1000, 2), "raw_p95_ms": round(raw_p95 * 1000, 2)}))
    return api_p95, raw_p95


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--count", type=int, default=100_000, help="articles (default 100,000; --quick 10,000)")
    parser.add_argument("--queries", type=int, default=500)
    add_database_options(parser)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    aim = Aim(__doc__, quick=args.quick)
    if args.quick:
        args.count, args.queries = min(args.count, 10_000), min(args.queries, 200)
    with bench_database(args) as url:
        api_p95, raw_p95 = asyncio.run(run(args, url))
    api_ms = api_p95 * 1000
    aim.check(f"api p95 {api_ms:.2f} ms <= {AIM_P95_MS:.0f} ms", api_ms <= AIM_P95_MS)
    aim.check(f"api p95 {api_p95 / raw_p95:.2f}x the raw p95 <= {AIM_RATIO}x", api_p95 <= AIM_RATIO * raw_p95)
    aim.finish("api p95 / raw p95", api_p95 / raw_p95)


if __name__ == "__main__":
    main()
