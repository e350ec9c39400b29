"""Event-to-wallboard latency: a router change in the voice service until a browser's SSE stream has it.

In one process, on a real store (SQLite file by default, --db URL, or a private PostgreSQL started for the
run with --postgres) and over real loopback HTTP:
the router and LiveWriter as the voice service runs them (its default debounce), the web app (tvoxcc.web) polling
the snapshot table every --poll seconds, and an aiohttp client logged in and reading the Server-Sent Events
stream. On PostgreSQL the writer's NOTIFY wakes the web app before its poll.
Each round a caller enters (or leaves) the queue; the latency is from the router call to the ``live``
event that shows the new waiting count. Rounds are spaced irregularly so they fall at every phase of the
poll.

The baseline, measured in the same run on the same store: the same row change (``live_queues.waiting`` of
the queue, ``live_tenants.version`` bumped, a NOTIFY on PostgreSQL) written with one bare UPDATE
transaction, read back by a minimal aiohttp app (no login, no snapshot, no debounce) that polls the
version every --poll seconds on SQLite or LISTENs on PostgreSQL, and sent as the same SSE event to the
same client. The last line is the ratio p50 tvoxcc / p50 bare.

Aim: p95 <= 1 s from the router call to the browser (the README's "within a second"), and a p50 within 2x
the bare round trip's (the same with --quick, over fewer rounds); exit 1 when missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from _contract import Aim, arguments
from _db import add_database_options, bench_database
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import text

from tvoxcc.admin.passwords import hash_password
from tvoxcc.config import WebSettings
from tvoxcc.queues import model as q
from tvoxcc.queues.router import Router
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.models.live import NOTIFY_CHANNEL
from tvoxcc.store.types import utcnow
from tvoxcc.voice.live import LiveWriter
from tvoxcc.web.app import build_app

PASSWORD = "bench password"


async def seed(store: Store) -> int:
    async with store.session() as s:
        tenant = m.Tenant(name="acme")
        s.add(tenant)
        await s.flush()
        service = m.Service(tenant_id=tenant.id, name="main", channels=["voice"])
        s.add(service)
        await s.flush()
        s.add(m.Queue(tenant_id=tenant.id, name="sales", service_id=service.id))
        s.add(m.User(username="admin", role="admin", password_hash=hash_password(PASSWORD)))
        await s.commit()
        return tenant.id


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


Shown = asyncio.Queue[tuple[float, int]]  # (when the client read it, the waiting count it shows)


async def read_sse(stream: aiohttp.ClientResponse, shown: Shown) -> None:
    """The browser's side: every ``live`` event's waiting count, timed as it is read."""
    event = ""
    async for raw in stream.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "live":
            shown.put_nowait((time.perf_counter(), json.loads(line[6:])["queues"][0]["waiting"]))


async def measure(
    stream: aiohttp.ClientResponse, rounds: int, seed_value: int, change: Callable[[int], Awaitable[int]]
) -> list[float]:
    """Seconds from each change (``change(n)`` returns the waiting count it makes) to the event showing it."""
    shown: Shown = asyncio.Queue()
    reader = asyncio.create_task(read_sse(stream, shown))
    rng = random.Random(seed_value)
    latencies: list[float] = []
    try:
        await asyncio.wait_for(shown.get(), 10)  # the stream's first state
        for n in range(rounds):
            await asyncio.sleep(rng.uniform(0.15, 0.6))  # any phase of the poll and of the debounce window
            while not shown.empty():
                shown.get_nowait()
            started = time.perf_counter()
            expected = await change(n)
            while True:
                at, waiting = await asyncio.wait_for(shown.get(), 10)
                if waiting == expected:
                    latencies.append(at - started)
                    break
    finally:
        reader.cancel()
        stream.close()
    return latencies


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def client() -> aiohttp.ClientSession:
    # unsafe: keep cookies of an IP address host (127.0.0.1), as a browser does
    return aiohttp.ClientSession(trust_env=False, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def run_tvoxcc(store: Store, rounds: int, poll: float, seed_value: int) -> list[float]:
    router = Router(random.Random(seed_value))
    router.add_queue(q.QueueConfig(name="acme/sales"), time.time())
    writer = LiveWriter(store, router, utcnow)  # the voice service's debounce
    await writer.start()
    await writer.flush()
    runner, base = await serve(build_app(store, WebSettings(secret=SecretStr("b" * 32), poll_interval=poll)))

    async def change(n: int) -> int:
        if n % 2 == 0:
            writer.changed(router.enqueue(q.WorkItem(f"c{n}", "acme/sales"), time.time()))
            return 1
        writer.changed(router.abandon(f"c{n - 1}", time.time()))
        return 0

    try:
        async with client() as http:
            login = await http.post(f"{base}/login", json={"username": "admin", "password": PASSWORD})
            stream = await http.get(f"{base}/api/tenants/acme/stream?queue=sales")
            if login.status != 200 or stream.status != 200:
                raise SystemExit(f"error: login {login.status}, stream {stream.status}")
            return await measure(stream, rounds, seed_value, change)
    finally:
        await writer.close()
        await runner.cleanup()


class BareBoard:
    """The floor: the same row read back by the least code, and sent as the same SSE event."""

    def __init__(self, store: Store, tenant_id: int, poll: float) -> None:
        self.store, self.tenant_id, self.poll = store, tenant_id, poll
        self.version, self.waiting = -1, 0
        self.moved = asyncio.Condition()
        self.nudge = asyncio.Event()
        self.listener: Any = None

    async def read(self) -> None:
        async with self.store.engine.connect() as conn:
            params = {"t": self.tenant_id}
            version = (await conn.execute(text("SELECT version FROM live_tenants WHERE tenant_id = :t"), params)).one()
            if version[0] == self.version:
                return
            sql = "SELECT waiting FROM live_queues WHERE tenant_id = :t AND queue = 'sales'"
            waiting = (await conn.execute(text(sql), params)).one()
        async with self.moved:
            self.version, self.waiting = version[0], waiting[0]
            self.moved.notify_all()

    async def run(self) -> None:
        """Poll every ``poll`` seconds (SQLite), or read when a NOTIFY arrives (PostgreSQL)."""
        url = self.store.engine.url
        if url.get_backend_name() == "postgresql":
            import asyncpg  # type: ignore[import-untyped]

            self.listener = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
            await self.listener.add_listener(NOTIFY_CHANNEL, lambda *_: self.nudge.set())
        while True:
            self.nudge.clear()
            await self.read()
            if self.listener is not None:
                await self.nudge.wait()
            else:
                await asyncio.sleep(self.poll)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await response.prepare(request)
        seen = None
        while True:
            async with self.moved:
                await self.moved.wait_for(lambda seen=seen: self.version != seen)  # type: ignore[misc]
                seen, waiting = self.version, self.waiting
            data = json.dumps({"queues": [{"queue": "sales", "waiting": waiting}]})
            await response.write(f"event: live\ndata: {data}\n\n".encode())


async def run_bare(store: Store, tenant_id: int, rounds: int, poll: float, seed_value: int) -> list[float]:
    board = BareBoard(store, tenant_id, poll)
    app = web.Application()
    app.router.add_get("/stream", board.stream)
    runner, base = await serve(app)
    task = asyncio.create_task(board.run())
    notify = store.engine.dialect.name == "postgresql"

    async def change(n: int) -> int:
        waiting = 1 - n % 2
        async with store.engine.begin() as conn:
            params = {"t": tenant_id, "w": waiting}
            await conn.execute(
                text("UPDATE live_queues SET waiting = :w WHERE tenant_id = :t AND queue = 'sales'"), params
            )
            await conn.execute(text("UPDATE live_tenants SET version = version + 1 WHERE tenant_id = :t"), params)
            if notify:
                await conn.execute(text("SELECT pg_notify(:c, :t)"), {"c": NOTIFY_CHANNEL, "t": str(tenant_id)})
        return waiting

    try:
        async with client() as http:
            return await measure(await http.get(f"{base}/stream"), rounds, seed_value, change)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if board.listener is not None:
            await board.listener.close()
        await runner.cleanup()


def summary(label: str, latencies: list[float]) -> tuple[float, float]:
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    print(
        f"{label}: mean {statistics.fmean(latencies) * 1000:.0f} ms, p50 {p50 * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )
    return p50, p95


AIM_P95_S, AIM_RATIO = 1.0, 2.0


async def run(url: str, rounds: int, poll: float, seed_value: int, aim: Aim) -> None:
    store = Store.from_url(url)
    try:
        tenant_id = await seed(store)
        backend = store.engine.dialect.name
        wake = "NOTIFY" if backend == "postgresql" else f"poll {poll:.3f} s"
        debounce = LiveWriter.__init__.__kwdefaults__["debounce"]
        print(f"{rounds} changes -> SSE live event on {backend} ({wake}), tvoxcc's debounce {debounce} s", flush=True)
        ours = await run_tvoxcc(store, rounds, poll, seed_value)
        bare = await run_bare(store, tenant_id, rounds, poll, seed_value)
    finally:
        await store.dispose()
    p50, p95 = summary("tvoxcc (router call -> LiveWriter -> web app -> SSE)", ours)
    bare_p50, _ = summary("bare (UPDATE -> minimal aiohttp app -> SSE)", bare)
    aim.check(f"tvoxcc p95 {p95 * 1000:.0f} ms <= {AIM_P95_S * 1000:.0f} ms", p95 <= AIM_P95_S)
    aim.check(f"tvoxcc p50 {p50 / bare_p50:.2f}x the bare p50 <= {AIM_RATIO:.0f}x", p50 <= AIM_RATIO * bare_p50)
    aim.finish("p50 tvoxcc / p50 bare", p50 / bare_p50)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--rounds", type=int, help="changes timed on each side (default 60, --quick 20)")
    parser.add_argument("--poll", type=float, default=0.2, help="the web app's poll interval, seconds")
    add_database_options(parser)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    aim = Aim(__doc__, quick=args.quick)
    rounds = args.rounds or (20 if args.quick else 60)
    with bench_database(args) as url:
        asyncio.run(run(url, rounds, args.poll, args.seed, aim))


if __name__ == "__main__":
    main()
