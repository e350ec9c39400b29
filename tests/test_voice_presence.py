"""Following agent phones: subscriptions in checked chunks (tvoxcc.voice.presence).

The stand-in applies Asterisk's own rules for POST /applications/{app}/subscription: 128 sources or more in
one request are refused (400 "Too many values for event_source"), so is a request line over 4 KB, and a
request naming one endpoint Asterisk does not have is refused as a whole (422).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.ari_stand_in import ari_stand_in
from tvoxcc.ari import AriBadRequest, AriClient
from tvoxcc.backoff import Backoff
from tvoxcc.voice.presence import (
    MAX_QUERY_CHARS,
    EndpointSubscriber,
    PresenceChange,
    chunks,
    endpoint_source,
    presence_change,
)


class FakeAsterisk:
    def __init__(self, endpoints: set[str]) -> None:
        self.endpoints = endpoints
        self.subscribed: set[str] = set()
        self.requests = 0
        self.fail_next = 0  # answer the next requests with 500 (Asterisk busy restarting)

    async def subscribe(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.fail_next:
            self.fail_next -= 1
            return web.json_response({"message": "Internal Server Error"}, status=500)
        if len(str(request.rel_url)) > 4096:
            return web.json_response({"message": "Request line too long"}, status=400)
        sources = request.query["eventSource"].split(",")
        if len(sources) >= 128:
            return web.json_response({"message": "Too many values for event_source"}, status=400)
        if any(source.removeprefix("endpoint:PJSIP/") not in self.endpoints for source in sources):
            return web.json_response({"message": "Event source does not exist"}, status=422)
        self.subscribed.update(sources)
        return web.json_response({"name": request.match_info["app"]})

    async def list_endpoints(self, request: web.Request) -> web.Response:
        self.requests += 1
        return web.json_response(
            [{"technology": "PJSIP", "resource": name, "state": "offline"} for name in sorted(self.endpoints)]
        )


@pytest.fixture
async def asterisk() -> AsyncIterator[tuple[FakeAsterisk, AriClient]]:
    fake = FakeAsterisk({f"acme-agent{i:03d}" for i in range(1, 201)})
    app = web.Application()
    app.router.add_post("/ari/applications/{app}/subscription", fake.subscribe)
    app.router.add_get("/ari/endpoints/PJSIP", fake.list_endpoints)
    async with ari_stand_in(app) as client:
        yield fake, client


async def no_sleep(_: float) -> None:
    return None


def subscriber(ari: AriClient) -> EndpointSubscriber:
    return EndpointSubscriber(ari, backoff=Backoff(initial=0.01), attempts=3, sleep=no_sleep, rng=lambda: 0.0)


AGENTS = [f"acme-agent{i:03d}" for i in range(1, 201)]


def test_chunks_stay_under_asterisks_limits() -> None:
    sources = [endpoint_source(a) for a in AGENTS]
    cut = chunks(sources)
    assert [s for chunk in cut for s in chunk] == sources  # all of them, in order, once
    assert all(len(chunk) <= 50 for chunk in cut) and len(cut) == 4
    long_names = [endpoint_source("x" * 300 + str(i)) for i in range(20)]
    for chunk in chunks(long_names):
        assert sum(len(urllib.parse.quote(s, safe="")) + 3 for s in chunk) <= MAX_QUERY_CHARS
    assert chunks([]) == []


def test_only_a_change_of_state_logs_in_or_out() -> None:
    assert presence_change(None, "online") is PresenceChange.LOGIN
    assert presence_change("offline", "online") is PresenceChange.LOGIN
    assert presence_change("online", "online") is None  # a feature code call: not a new login
    assert presence_change("online", "offline") is PresenceChange.LOGOUT
    assert presence_change("online", "unknown") is None


async def test_200_agents_are_all_followed(asterisk: tuple[FakeAsterisk, AriClient]) -> None:
    fake, ari = asterisk
    result = await subscriber(ari).subscribe(AGENTS)
    assert sorted(result.ok) == AGENTS and not result.refused and not result.failed
    assert fake.subscribed == {endpoint_source(a) for a in AGENTS}
    assert fake.requests == 4


async def test_one_request_for_all_of_them_is_what_asterisk_refuses(asterisk: tuple[FakeAsterisk, AriClient]) -> None:
    # The stand-in refuses what Asterisk refuses (the old single request), or the test above proves nothing.
    fake, ari = asterisk
    with pytest.raises(AriBadRequest, match=r"Too many values|too long"):
        await ari.applications.subscribe(ari.app, [endpoint_source(a) for a in AGENTS])
    with pytest.raises(AriBadRequest, match="Too many values"):
        await ari.applications.subscribe(ari.app, [endpoint_source(a) for a in AGENTS[:128]])
    assert fake.subscribed == set()


async def test_an_unknown_endpoint_costs_only_itself(
    asterisk: tuple[FakeAsterisk, AriClient], caplog: pytest.LogCaptureFixture
) -> None:
    fake, ari = asterisk
    follow = subscriber(ari)
    result = await follow.subscribe([*AGENTS[:60], "acme-nophone"])
    assert sorted(result.ok) == AGENTS[:60]
    assert result.refused == {"acme-nophone": "Event source does not exist"}
    assert follow.missing == {"acme-nophone"}
    assert "acme-nophone" in caplog.text  # said by name
    fake.requests = 0
    assert not await follow.retry()  # still no such endpoint: one look, no subscription request
    assert fake.requests == 1 and follow.missing == {"acme-nophone"}
    fake.endpoints.add("acme-nophone")  # rendered since: the next retry takes it
    assert await follow.retry()
    assert endpoint_source("acme-nophone") in fake.subscribed and not follow.missing


async def test_a_failing_chunk_is_retried_then_reported(asterisk: tuple[FakeAsterisk, AriClient]) -> None:
    fake, ari = asterisk
    fake.fail_next = 2  # the first chunk fails twice, then works (3 attempts)
    result = await subscriber(ari).subscribe(AGENTS)
    assert sorted(result.ok) == AGENTS and fake.requests == 4 + 2
    fake.subscribed.clear()
    fake.fail_next = 3  # the first chunk fails every attempt: the other chunks still go through
    follow = subscriber(ari)
    result = await follow.subscribe(AGENTS)
    assert sorted(result.failed) == AGENTS[:50] and sorted(result.ok) == AGENTS[50:]
    assert follow.missing == set(AGENTS[:50])
