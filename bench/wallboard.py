"""Event-to-wallboard latency: a router change in the voice service until a browser's SSE stream has it.

In one process, on a real store (SQLite file by default, or --db URL) and over real loopback HTTP:
the router and LiveWriter as the voice service runs them (debounce 0.1 s), the web app (tvoxcc.web) polling
the snapshot table every --poll seconds, and an aiohttp client logged in and reading the Server-Sent Events
stream. On PostgreSQL (--db postgresql://...) the writer's NOTIFY wakes the web app before its poll.
Each round a caller enters (or leaves) the queue; the latency is from the router call to the ``live``
event that shows the new waiting count. Rounds are spaced irregularly so they fall at every phase of the
poll. The baseline is the poll interval itself (what a page polling the API at that interval would wait at
worst, half of it on average); the last line is the ratio p50 latency / poll interval.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from tvoxcc.admin.passwords import hash_password
from tvoxcc.config import WebSettings
from tvoxcc.queues import model as q
from tvoxcc.queues.router import Router
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import upgrade
from tvoxcc.store.types import utcnow
from tvoxcc.voice.live import LiveWriter
from tvoxcc.web.app import build_app

PASSWORD = "bench password"


async def seed(store: Store) -> None:
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


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run(url: str, rounds: int, poll: float, seed_value: int) -> None:
    store = Store.from_url(url)
    await seed(store)
    router = Router(random.Random(seed_value))
    router.add_queue(q.QueueConfig(name="acme/sales"), time.time())
    writer = LiveWriter(store, router, utcnow, debounce=0.1)
    await writer.start()
    await writer.flush()
    app = build_app(store, WebSettings(secret=SecretStr("b" * 32), poll_interval=poll))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}"
    shown: asyncio.Queue[tuple[float, int]] = asyncio.Queue()
    rng = random.Random(seed_value)
    latencies: list[float] = []
    # unsafe: keep cookies of an IP address host (127.0.0.1), as a browser does
    async with aiohttp.ClientSession(trust_env=False, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = await http.post(f"{base}/login", json={"username": "admin", "password": PASSWORD})
        stream = await http.get(f"{base}/api/tenants/acme/stream?queue=sales")
        if login.status != 200 or stream.status != 200:
            raise SystemExit(f"error: login {login.status}, stream {stream.status}")

        async def read() -> None:
            event = ""
            async for raw in stream.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "live":
                    shown.put_nowait((time.perf_counter(), json.loads(line[6:])["queues"][0]["waiting"]))

        reader = asyncio.create_task(read())
        await shown.get()  # the stream's first state
        for n in range(rounds):
            await asyncio.sleep(rng.uniform(0.15, 0.6))  # any phase of the poll and of the debounce window
            while not shown.empty():
                shown.get_nowait()
            started = time.perf_counter()
            if n % 2 == 0:
                writer.changed(router.enqueue(q.WorkItem(f"c{n}", "acme/sales"), time.time()))
                expected = 1
            else:
                writer.changed(router.abandon(f"c{n - 1}", time.time()))
                expected = 0
            while True:
                at, waiting = await asyncio.wait_for(shown.get(), 10)
                if waiting == expected:
                    latencies.append(at - started)
                    break
        reader.cancel()
        stream.close()
    await writer.close()
    await runner.cleanup()
    await store.dispose()
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    print(f"{rounds} router changes -> SSE live event, debounce 0.1 s, poll {poll:.3f} s")
    mean = statistics.fmean(latencies)
    print(f"latency: mean {mean * 1000:.0f} ms, p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, ", end="")
    print(f"max {max(latencies) * 1000:.0f} ms (target: within 1 s)")
    print(f"baseline: poll interval {poll * 1000:.0f} ms (a page polling at it waits {poll * 500:.0f} ms on average)")
    print(f"ratio p50 latency / poll interval: {p50 / poll:.2f} (p95: {p95 / poll:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--poll", type=float, default=0.2, help="the web app's poll interval, seconds")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        asyncio.run(run(url, args.rounds, args.poll, args.seed))


if __name__ == "__main__":
    main()
