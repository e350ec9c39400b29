"""Events websocket: Basic auth with any password, typed events, reconnect with capped jittered backoff."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tvoxcc.ari import AriAuthError, AriEvents, Backoff, Connected, Disconnected, StreamItem
from tvoxcc.ari.events import StasisStart
from tvoxcc.ari.websocket import ws_url

PASSWORD = "p@ss:w/rd%&#?é ü+="


class FakeAsterisk:
    def __init__(self) -> None:
        self.fail_first = 0  # answer 503 to this many upgrade attempts
        self.attempts = 0
        self.attempted_at: list[float] = []  # the event loop's clock at each upgrade attempt
        self.connects = 0
        self.queries: list[dict[str, str]] = []
        self.filters: list[object] = []  # the event filters set, in order

    async def events(self, request: web.Request) -> web.StreamResponse:
        self.attempts += 1
        self.attempted_at.append(asyncio.get_running_loop().time())
        expected = "Basic " + base64.b64encode(f"tvoxcc:{PASSWORD}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return web.Response(status=401)
        if self.attempts <= self.fail_first:
            return web.Response(status=503)
        self.queries.append(dict(request.query))
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connects += 1
        channel = {"id": f"c{self.connects}", "name": "PJSIP/x", "state": "Ring"}
        await ws.send_str("not json")  # must be skipped, not crash the stream
        await ws.send_str(json.dumps({"type": "ChannelVarset", "application": "tvoxcc", "variable": "X", "value": "1"}))
        await ws.send_str(json.dumps({"type": "StasisStart", "application": "tvoxcc", "args": [], "channel": channel}))
        await ws.close()  # Asterisk going away
        return ws

    async def event_filter(self, request: web.Request) -> web.Response:
        self.filters.append((request.match_info["app"], await request.json()))
        return web.json_response({"name": request.match_info["app"]})


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeAsterisk, str]]:
    f = FakeAsterisk()
    app = web.Application()
    app.router.add_get("/ari/events", f.events)
    app.router.add_put("/ari/applications/{app}/eventFilter", f.event_filter)
    server = TestServer(app)
    await server.start_server()
    yield f, f"http://127.0.0.1:{server.port}"
    await server.close()


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


async def _take(events: AriEvents, n: int) -> list[StreamItem]:
    out: list[StreamItem] = []
    async with asyncio.timeout(10):
        async for item in events:
            out.append(item)
            if len(out) == n:
                break
    await events.close()
    return out


async def test_only_the_event_types_asked_for_are_read(fake: tuple[FakeAsterisk, str]) -> None:
    _, url = fake
    every = [type(i).__name__ for i in await _take(AriEvents(url, "tvoxcc", PASSWORD, "tvoxcc"), 3)]
    assert every == ["Connected", "ChannelVarset", "StasisStart"]
    only = AriEvents(url, "tvoxcc", PASSWORD, "tvoxcc", only=frozenset({"StasisStart"}))
    assert [type(i).__name__ for i in await _take(only, 2)] == ["Connected", "StasisStart"]


async def test_asterisk_is_asked_for_those_types_only_after_every_connect(fake: tuple[FakeAsterisk, str]) -> None:
    f, url = fake
    only = AriEvents(url, "tvoxcc", PASSWORD, "tvoxcc", only=frozenset({"StasisStart", "StasisEnd"}), sleep=Sleeps())
    await _take(only, 4)  # Connected, StasisStart, Disconnected, Connected: two connects
    allowed = {"allowed": [{"type": "StasisEnd"}, {"type": "StasisStart"}]}
    assert f.filters == [("tvoxcc", allowed), ("tvoxcc", allowed)]
    # Without ``only`` a filter a previous consumer left is cleared: every type comes again.
    await _take(AriEvents(url, "tvoxcc", PASSWORD, "tvoxcc"), 1)
    assert f.filters[-1] == ("tvoxcc", {"allowed": []})


async def test_an_asterisk_without_event_filters_still_serves_the_types_asked_for(
    fake: tuple[FakeAsterisk, str],
) -> None:
    _, url = fake
    only = AriEvents(url, "tvoxcc", PASSWORD, "tvoxcc", only=frozenset({"StasisStart"}))
    only.filter_url = url + "/ari/no-such-resource"  # answered 404, as by an Asterisk before 16.3
    assert [type(i).__name__ for i in await _take(only, 2)] == ["Connected", "StasisStart"]


def test_ws_url() -> None:
    assert ws_url("http://h:8088") == "ws://h:8088/ari/events"
    assert ws_url("https://h/") == "wss://h/ari/events"


async def test_reconnects_and_reports_connect_disconnect(fake: tuple[FakeAsterisk, str]) -> None:
    f, url = fake
    sleeps = Sleeps()
    only = frozenset({"StasisStart"})  # the fake's ChannelVarset is left out
    events = AriEvents(url, "tvoxcc", PASSWORD, "tvoxcc", sleep=sleeps, rng=lambda: 0.0, only=only)
    items = await _take(events, 7)
    kinds = [type(i).__name__ for i in items]
    assert kinds == [
        "Connected",
        "StasisStart",
        "Disconnected",
        "Connected",
        "StasisStart",
        "Disconnected",
        "Connected",
    ]
    assert isinstance(items[0], Connected) and not items[0].reconnect
    assert isinstance(items[3], Connected) and items[3].reconnect
    assert isinstance(items[4], StasisStart) and items[4].channel.id == "c2"
    assert isinstance(items[2], Disconnected) and items[2].reason
    # A connection that worked resets the backoff: each reconnect waits the initial delay.
    assert sleeps.delays == [0.5, 0.5]
    assert f.queries[0] == {"app": "tvoxcc", "subscribeAll": "false"}


async def test_backoff_grows_to_cap_while_down(fake: tuple[FakeAsterisk, str]) -> None:
    f, url = fake
    f.fail_first = 5
    sleeps = Sleeps()
    backoff = Backoff(initial=0.5, factor=2.0, cap=3.0, jitter=0.25)
    events = AriEvents(url, "tvoxcc", PASSWORD, "tvoxcc", backoff=backoff, sleep=sleeps, rng=lambda: 0.0)
    items = await _take(events, 1)
    assert isinstance(items[0], Connected)
    assert sleeps.delays == [0.5, 1.0, 2.0, 3.0, 3.0]
    # Jitter only shortens, never exceeds the cap.
    assert backoff.delay(10, 1.0) == pytest.approx(2.25)
    assert all(0.375 <= backoff.delay(0, r / 10) <= 0.5 for r in range(11))


async def test_refused_connection_retries(unused_tcp_port: int) -> None:
    delays: list[float] = []
    third = asyncio.Event()

    async def sleep(delay: float) -> None:
        delays.append(delay)
        if len(delays) == 3:
            third.set()
        await asyncio.sleep(0)

    events = AriEvents(f"http://127.0.0.1:{unused_tcp_port}", "u", "p", "app", sleep=sleep, rng=lambda: 0.0)

    async def consume() -> None:
        async for _ in events:
            pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(third.wait(), 10)
    await events.close()
    task.cancel()
    assert delays[:3] == [0.5, 1.0, 2.0]


async def test_wrong_password_is_not_retried(fake: tuple[FakeAsterisk, str]) -> None:
    f, url = fake
    events = AriEvents(url, "tvoxcc", "wrong", "tvoxcc", sleep=Sleeps())
    with pytest.raises(AriAuthError):
        async for _ in events:
            pass
    await events.close()
    assert f.attempts == 1


async def test_the_default_sleep_really_waits_each_backoff_delay(fake: tuple[FakeAsterisk, str]) -> None:
    """With the real sleep (no injected one): each retry comes after its delay, not in a busy loop.

    Only lower bounds, measured by the server between attempts: a slow machine makes the gaps longer, never
    shorter, so this cannot fail for being slow; without the sleep the gaps would be a few milliseconds.
    """
    f, url = fake
    f.fail_first = 2
    events = AriEvents(url, "tvoxcc", PASSWORD, "tvoxcc", backoff=Backoff(initial=0.1, jitter=0.0))
    items = await _take(events, 1)
    assert isinstance(items[0], Connected)
    assert f.attempts == 3
    gaps = [later - earlier for earlier, later in zip(f.attempted_at, f.attempted_at[1:], strict=False)]
    assert len(gaps) == 2 and gaps[0] >= 0.1 and gaps[1] >= 0.2, gaps


async def test_close_during_a_backoff_wait_ends_the_stream(unused_tcp_port: int) -> None:
    """Shutdown does not sit out a reconnect delay: close() cuts the wait and the iterator ends."""
    waiting = asyncio.Event()

    async def sleep_forever(delay: float) -> None:
        waiting.set()
        await asyncio.Event().wait()

    events = AriEvents(f"http://127.0.0.1:{unused_tcp_port}", "u", "p", "app", sleep=sleep_forever)
    items: list[StreamItem] = []

    async def consume() -> None:
        async for item in events:
            items.append(item)

    task = asyncio.create_task(consume())
    await asyncio.wait_for(waiting.wait(), 10)
    await events.close()
    await asyncio.wait_for(task, 10)  # ended by itself, not cancelled
    assert items == []
