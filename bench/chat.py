"""Webchat message round trip: a customer's message until the agent's desktop has it, through one `web run`.

A real `tvoxcc web run` process on PostgreSQL (a private server started for the run; --db URL for another)
serves N customer widgets (websockets on /chat/ws) and M agent desktops (/agent/ws, logged in with a
session cookie); the ACD is a `tvoxcc acd run` process and talks to the web app only through the store. Every
agent logs in from its desktop, every customer opens a chat, the ACD offers the chats within the agents'
chat capacity and the desktops accept them. Then each customer sends a message every --interval seconds
(random phase): the round trip is from the customer's send to the agent's socket reading it (stored with
its number first). Memory per open chat is the web process's resident memory growth from the desktops
alone to every chat connected, divided by N.

The baseline, in the same run on the same machine: a bare aiohttp websocket relay in a process of its own
(no store, no login), N customer and N agent sockets paired, the same message schedule; the same client
code times it. The last line is the ratio p95 tvoxcc / p95 bare. The client's own event loop lag (how late a
10 ms sleep wakes while the messages flow) is printed for both runs: one client process holds every socket.

A third run, printed beside it and not judged: the same relay storing each message before relaying it (one
INSERT, committed, on a pool of three connections to the same PostgreSQL: the least any relay that stores
before it delivers pays here), so the figures show how much of tvoxcc's round trip is that write.

Aim: message round trip customer -> agent p95 <= 100 ms and within 3x the bare relay's p95, with 1,000
customer chats and 200 agent desktops (--quick: 100 and 20, fewer messages); exit 1 when missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from _contract import Aim, arguments
from _db import add_database_options, bench_database
from aiohttp import WSMsgType, web
from sqlalchemy import select

from tvoxcc.admin.edit import import_document
from tvoxcc.admin.spec import TenantDoc
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.types import utcnow
from tvoxcc.web import auth

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def spawn(argv: list[str], env: dict[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """A server process in its own session (stopped by its process group); its stderr to ``log``."""
    with log.open("ab") if log else open(os.devnull, "ab") as err:
        return subprocess.Popen(argv, env=env, start_new_session=True, stderr=err)


def unlimited() -> aiohttp.TCPConnector:
    """No cap on open connections (aiohttp's default of 100 would hold the 101st socket back)."""
    return aiohttp.TCPConnector(limit=0)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# -- the bare relay (run as `bench/chat.py --bare PORT` in a process of its own) ------------------------


STORED_RELAY_TABLE = "bench_stored_relay"


def bare_relay(port: int, db: str | None) -> None:
    """The relay; with ``db`` (a PostgreSQL URL), each message INSERTed and committed before it is relayed."""
    agents: dict[str, web.WebSocketResponse] = {}
    pool: list[Any] = []  # asyncpg's Pool, made at the app's start

    async def agent(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        agents[request.match_info["pair"]] = ws
        async for _ in ws:
            pass
        return ws

    async def customer(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        pair = request.match_info["pair"]
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                if pool:
                    await pool[0].execute(
                        f"INSERT INTO {STORED_RELAY_TABLE} (pair, body) VALUES ($1, $2)", int(pair), message.data
                    )
                await agents[pair].send_str(message.data)
        return ws

    async def connect(app: web.Application) -> AsyncIterator[None]:
        if db is None:
            yield
            return
        import asyncpg  # type: ignore[import-untyped]

        dsn = db.replace("postgresql+asyncpg://", "postgresql://")
        pool.append(await asyncpg.create_pool(dsn, min_size=3, max_size=3))
        await pool[0].execute(
            f"CREATE TABLE IF NOT EXISTS {STORED_RELAY_TABLE} (id bigserial PRIMARY KEY, pair int, body text)"
        )
        yield
        await pool[0].close()

    app = web.Application()
    app.cleanup_ctx.append(connect)
    app.router.add_get("/a/{pair}", agent)
    app.router.add_get("/c/{pair}", customer)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# -- the load ------------------------------------------------------------------------------------------


class Timing:
    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.latencies: list[float] = []
        self.dropped = 0  # customer sockets the server closed during the run

    def received(self, cid: str) -> None:
        at = self.sent.pop(cid, None)
        if at is not None:
            self.latencies.append(time.perf_counter() - at)


class LoopLag:
    """How late this (the client's) event loop wakes a 10 ms sleep while the messages flow: a round trip read
    late because the client was busy is counted against the server, so the figure is printed beside it."""

    TICK_S = 0.01

    def __init__(self) -> None:
        self.lags: list[float] = []

    async def watch(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(self.TICK_S)
            self.lags.append(time.perf_counter() - start - self.TICK_S)

    def line(self, name: str) -> str:
        p50, p95 = percentile(self.lags, 0.5) * 1000, percentile(self.lags, 0.95) * 1000
        return f"{name} client loop lag: p50 {p50:.2f} ms, p95 {p95:.2f} ms, max {max(self.lags) * 1000:.2f} ms"


async def talk(
    customers: list[aiohttp.ClientWebSocketResponse],
    timing: Timing,
    messages: int,
    interval: float,
    seed: int,
    lag: LoopLag,
) -> None:
    """Each customer sends ``messages`` messages, one every ``interval`` s from a random phase."""
    rng = random.Random(seed)

    async def one(index: int, ws: aiohttp.ClientWebSocketResponse) -> None:
        await asyncio.sleep(rng.uniform(0, interval))
        for n in range(messages):
            cid = f"{index}-{n}"
            timing.sent[cid] = time.perf_counter()
            try:
                await ws.send_json({"type": "say", "body": f"message {n} of customer {index}", "cid": cid})
            except aiohttp.ClientConnectionResetError:
                timing.dropped += 1  # the server closed this customer's socket: the rest count as not delivered
                return
            await asyncio.sleep(interval)

    watching = asyncio.create_task(lag.watch())
    await asyncio.gather(*(one(i, ws) for i, ws in enumerate(customers)))
    with contextlib.suppress(RuntimeError):  # what is still missing then counts as not delivered
        await until(lambda: not timing.sent, 30, "every message delivered")
    watching.cancel()


async def run_bare(
    n: int, messages: int, interval: float, seed: int, lag: LoopLag, db: str | None = None
) -> list[float]:
    port = free_port()
    process = spawn([sys.executable, __file__, "--bare", str(port), *([db] if db else [])], dict(os.environ))
    timing = Timing()
    try:
        async with aiohttp.ClientSession(trust_env=False, connector=unlimited()) as http:
            await wait_up(http, f"http://127.0.0.1:{port}/a/probe", process, ws=True)
            agents = [await http.ws_connect(f"ws://127.0.0.1:{port}/a/{i}") for i in range(n)]
            readers = [asyncio.create_task(read_bare(ws, timing)) for ws in agents]
            customers = [await http.ws_connect(f"ws://127.0.0.1:{port}/c/{i}") for i in range(n)]
            await talk(customers, timing, messages, interval, seed, lag)
            for task in readers:
                task.cancel()
            for ws in customers + agents:
                await ws.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    return timing.latencies


async def drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass


async def read_bare(ws: aiohttp.ClientWebSocketResponse, timing: Timing) -> None:
    async for message in ws:
        timing.received(message.json()["cid"])


async def wait_up(http: aiohttp.ClientSession, url: str, process: subprocess.Popen[bytes], *, ws: bool) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited ({process.returncode})")
        try:
            if ws:
                await (await http.ws_connect(url)).close()
            else:
                async with http.get(url) as response:
                    response.raise_for_status()
            return
        except aiohttp.ClientError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def seed(store: Store, agents: int, capacity: int) -> list[str]:
    """Tenant acme, its chat service and queue, ``agents`` agents with users; their session tokens."""
    doc = {
        "tenant": {"name": "acme"},
        "services": [{"name": "web", "channels": ["chat"]}],
        "queues": [{"name": "chat", "service": "web", "wrapup_seconds": 0}],
        "agents": [
            {"name": f"a{i}", "extension": str(1000 + i), "queues": ["chat"], "capacity": {"chat": capacity}}
            for i in range(agents)
        ],
    }
    await import_document(store, TenantDoc.model_validate(doc))
    async with store.session() as session:
        tenant_id = (await session.execute(select(m.Tenant.id))).scalar_one()
        rows = dict((await session.execute(select(m.Agent.name, m.Agent.id))).all())
        users = [
            m.User(username=f"u{i}", role="agent", tenant_id=tenant_id, agent_id=rows[f"a{i}"]) for i in range(agents)
        ]
        session.add_all(users)
        await session.commit()
        ids = [u.id for u in users]
    return [await auth.open_session(store, uid, utcnow(), 4.0) for uid in ids]


class Desktop:
    """An agent's desktop: accepts every chat offered, times the customers' messages it reads."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, timing: Timing) -> None:
        self.ws = ws
        self.timing = timing
        self.status = ""
        self.connected: set[int] = set()
        self.accepting: set[int] = set()

    async def read(self) -> None:
        async for message in self.ws:
            if message.type is not WSMsgType.TEXT:
                break
            event = message.json()
            if event["type"] == "state" and "agent" in event:
                self.status = event["agent"]["status"]
                for chat in event["chats"]:
                    if chat["status"] == "offered" and chat["chat"] not in self.accepting:
                        self.accepting.add(chat["chat"])
                        await self.ws.send_json({"type": "accept", "chat": chat["chat"]})
                    elif chat["status"] == "connected":
                        self.connected.add(chat["chat"])
            elif event["type"] == "msg" and event["sender"] == "customer" and event.get("cid"):
                self.timing.received(event["cid"])


async def logged_in(desktops: list[Desktop], within: float = float(os.environ.get("BENCH_LOGIN_S", 300))) -> None:
    """Every desktop shows its agent available (a desktop that missed the ACD's answer asks again)."""
    deadline = time.monotonic() + within
    while waiting := [d for d in desktops if d.status != "available"]:
        if time.monotonic() > deadline:
            shown = sorted({d.status for d in waiting})
            raise RuntimeError(f"{len(waiting)} agents not logged in after {within:g} s (shown: {shown})")
        await asyncio.sleep(2)
        for d in waiting:
            await d.ws.send_json({"type": "refresh"})


async def until(condition: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not in {within:g} s: {what}")
        await asyncio.sleep(0.1)


async def run_tvoxcc(
    url: str, n: int, agents: int, messages: int, interval: float, seed_value: int, lag: LoopLag
) -> tuple[list[float], float]:
    store = Store.from_url(url)
    tokens = await seed(store, agents, math.ceil(n / agents) + 1)
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="tvoxcc-bench-chat-")
    config = Path(tmp) / "tvoxcc.toml"
    config.write_text(
        f'data_dir = "{tmp}"\n[database]\nurl = "{url}"\n[web]\nsecret = "{"s" * 32}"\n'
        f"chat_opens_per_minute = {n * 60}\nchat_messages_per_minute = 6000\n"
    )
    env = {**os.environ, "TVOXCC_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
    web_run = [sys.executable, "-m", "tvoxcc", "web", "run", "--host", "127.0.0.1", "--port", str(port)]
    process = spawn(web_run, env, Path(tmp) / "web.log")
    acd = spawn([sys.executable, "-m", "tvoxcc", "acd", "run"], env, Path(tmp) / "acd.log")
    base, timing = f"http://127.0.0.1:{port}", Timing()
    try:
        async with aiohttp.ClientSession(
            trust_env=False, cookie_jar=aiohttp.DummyCookieJar(), connector=unlimited()
        ) as http:
            await wait_up(http, f"{base}/healthz", process, ws=False)
            desktops = []
            for token in tokens:
                ws = await http.ws_connect(f"{base}/agent/ws", headers={"Cookie": f"{auth.SESSION_COOKIE}={token}"})
                desktops.append(Desktop(ws, timing))
            readers = [asyncio.create_task(d.read()) for d in desktops]
            for d in desktops:
                await d.ws.send_json({"type": "login"})
            await logged_in(desktops)
            before = rss_kib(process.pid)
            customers = []
            for i in range(n):
                async with http.post(f"{base}/chat/api/acme/web/open", json={"name": f"c{i}", "email": ""}) as r:
                    opened = await r.json()
                chat, token = opened["chat"], opened["token"]
                customers.append(await http.ws_connect(f"{base}/chat/ws/acme/{chat}?token={token}&after=0"))
                # Read at once, as a widget does (what the agent says, its state, and the server's pings: a
                # socket nobody reads answers no ping and is closed after the heartbeat).
                readers.append(asyncio.create_task(drain(customers[-1])))
            await until(lambda: sum(len(d.connected) for d in desktops) >= n, 120, "every chat connected")
            per_chat = (rss_kib(process.pid) - before) / n
            print(f"tvoxcc: {n} chats connected to {agents} desktops", flush=True)
            await talk(customers, timing, messages, interval, seed_value, lag)
            if timing.dropped:
                print(f"tvoxcc: {timing.dropped} customer sockets closed by the server (its log: {tmp})", flush=True)
            for task in readers:
                task.cancel()
            for ws in customers + [d.ws for d in desktops]:
                await ws.close()
    finally:
        for server in (process, acd):
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(15)
        await store.dispose()
    return timing.latencies, per_chat


def report(name: str, latencies: list[float], expected: int) -> tuple[float, float]:
    p50, p95 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.95) * 1000
    lost = expected - len(latencies)
    print(
        f"{name}: {len(latencies)} messages, p50 {p50:.2f} ms, p95 {p95:.2f} ms, mean "
        f"{statistics.fmean(latencies) * 1000:.2f} ms, not delivered {lost}",
        flush=True,
    )
    return p50, p95


def main() -> None:
    if len(sys.argv) in (3, 4) and sys.argv[1] == "--bare":
        bare_relay(int(sys.argv[2]), sys.argv[3] if len(sys.argv) == 4 else None)
        return
    parser = arguments(__doc__)
    add_database_options(parser)
    parser.add_argument("--chats", type=int, help="customer chats (default 1000, --quick 100)")
    parser.add_argument("--agents", type=int, help="agent desktops (default 200, --quick 20)")
    parser.add_argument("--messages", type=int, help="messages per customer (default 5, --quick 3)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between a customer's messages")
    args = parser.parse_args()
    aim = Aim(__doc__, quick=args.quick)
    n = args.chats or (100 if args.quick else 1000)
    agents = args.agents or (20 if args.quick else 200)
    messages = args.messages or (3 if args.quick else 5)
    if not args.db:
        args.postgres = True  # the aim is about PostgreSQL
    lag, bare_lag, stored_lag = LoopLag(), LoopLag(), LoopLag()
    with bench_database(args) as url:
        latencies, per_chat = asyncio.run(run_tvoxcc(url, n, agents, messages, args.interval, 1, lag))
        stored = asyncio.run(run_bare(n, messages, args.interval, 1, stored_lag, db=url)) if "postgres" in url else []
    bare = asyncio.run(run_bare(n, messages, args.interval, 1, bare_lag))
    _, p95 = report("tvoxcc", latencies, n * messages)
    _, bare95 = report("bare relay", bare, n * messages)
    stored95 = report("stored relay (one INSERT a message, not judged)", stored, n * messages)[1] if stored else 0
    print(lag.line("tvoxcc run:"), flush=True)
    print(bare_lag.line("bare relay run:"), flush=True)
    if stored:
        print(stored_lag.line("stored relay run:"), flush=True)
        print(f"p95 tvoxcc / p95 stored relay: {p95 / stored95:.2f} (not judged)", flush=True)
    print(f"memory per open chat: {per_chat:.1f} KiB (web process RSS growth / {n})", flush=True)
    aim.check(f"every message delivered ({len(latencies)} of {n * messages})", len(latencies) == n * messages)
    aim.check(f"round trip p95 {p95:.2f} ms <= 100 ms", p95 <= 100)
    aim.check(f"round trip p95 {p95 / bare95:.2f}x the bare relay's p95 <= 3x", p95 / bare95 <= 3)
    aim.finish("p95 tvoxcc / p95 bare relay", p95 / bare95)


if __name__ == "__main__":
    main()
