"""`tvoxcc acd`: submit writes a request the ACD takes, status reads the rows from any process, bad input refused."""

from __future__ import annotations

import asyncio
import json
import random
import tomllib

import pytest

from tests.cli import Tvox
from tvoxcc.acd import AcdService, InStore, StoreConfig
from tvoxcc.store.engine import Store


@pytest.fixture
def acme(tvox_any: Tvox) -> Tvox:
    tvox_any.ok("tenant", "add", "acme")
    tvox_any.ok("service", "add", "-t", "acme", "support", "--channel", "chat", "--channel", "mail")
    tvox_any.ok("queue", "add", "-t", "acme", "help", "--service", "support")
    tvox_any.ok("agent", "add", "-t", "acme", "anna", "--extension", "201", "--queue", "help", "--capacity", "chat=2")
    return tvox_any


def database(tvox: Tvox) -> str:
    return str(tomllib.loads(tvox.config.read_text())["database"]["url"])


async def route_once(url: str, *, login: str | None = None) -> None:
    """An ACD takes the lease, applies what was submitted, and stops (as `tvoxcc acd run` would, in short)."""
    store = Store.from_url(url)
    try:
        service = AcdService(store, StoreConfig(store), transports=[InStore()], rng=random.Random(0))
        assert await service.start(wait=False)
        if login:
            service.login(login)
        await service.take_inputs()
        await service.flush()
        await service.stop()
    finally:
        await store.dispose()


def test_submit_then_status_shows_the_item_waiting_and_who_routed(acme: Tvox) -> None:
    item = acme.ok("acd", "submit", "-t", "acme", "--queue", "help", "--channel", "chat", "--ref", "c-1").strip()
    assert item.startswith("chat-")
    before = json.loads(acme.ok("acd", "status", "--json"))
    assert before["acd"]["routing"] is False and before["waiting"] == []  # no ACD ran yet: a request, no item
    asyncio.run(route_once(database(acme)))
    report = json.loads(acme.ok("acd", "status", "-t", "acme", "--json"))
    assert report["waiting"] == [
        {"queue": "acme/help", "channel": "chat", "waiting": 1, "oldest_s": report["waiting"][0]["oldest_s"],
         "top_priority": 0}
    ]  # fmt: skip
    assert report["agents"] == [{"agent": "acme-anna", "state": "logged-out", "pause_code": None,
                                 "in_use": {"voice": "0/1", "chat": "0/2"}}]  # fmt: skip
    assert report["acd"]["routing"] is False  # it stopped and gave the lease up
    text = acme.ok("acd", "status")
    assert "acme/help" in text and "acme-anna" in text and "routing: nobody" in text
    # the next ACD offers it to anna once she logs in; the rows say so
    asyncio.run(route_once(database(acme), login="acme-anna"))
    report = json.loads(acme.ok("acd", "status", "--json"))
    assert report["waiting"] == [{"queue": "acme/help", "channel": "chat", "waiting": 1,
                                  "oldest_s": report["waiting"][0]["oldest_s"], "top_priority": 0}]  # fmt: skip
    assert report["agents"][0]["state"] == "reserved" and report["agents"][0]["in_use"]["chat"] == "1/2"


def test_bad_submissions_are_refused_in_one_line(acme: Tvox) -> None:
    for args, problem in [
        (("-t", "nope", "--queue", "help", "--channel", "chat"), "unknown tenant 'nope'"),
        (("-t", "acme", "--queue", "nope", "--channel", "chat"), "no such queue"),
        (("-t", "acme", "--queue", "help", "--channel", "voice"), "one of chat, mail, sms"),
    ]:
        out = acme.fails("acd", "submit", *args, "--ref", "x")
        assert problem in out and len(out.strip().splitlines()) == 1
    assert acme.fails("acd", "status", "-t", "nope").strip() == "error: unknown tenant 'nope'"
    report = json.loads(acme.ok("acd", "status", "--json"))
    assert report["items"] == 0
