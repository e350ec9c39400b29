"""The ACD writer's linger (as ``voice run`` embeds it): a decision without commands waits for the next one that
has some and rides in its commit; an offer never waits for the linger, nor does a ``flush``."""

from __future__ import annotations

import asyncio
import random

from tests.test_acd_service import Clock, config, tenant
from tvoxcc.acd import AcdService, Command, CommandKind, FixedConfig, InProcess, NewItem, load
from tvoxcc.queues import model as q
from tvoxcc.store.engine import Store

FOREVER = 3600.0  # a linger nothing here may wait for: only an offer or a flush ends it
WITHIN = 30.0  # a safety net for a broken writer (the test fails instead of hanging), not a speed check


async def settle() -> None:
    """Let the writer run whatever it would run now (a commit in flight completes meanwhile)."""
    for _ in range(20):
        await asyncio.sleep(0.01)


async def test_decisions_without_commands_ride_in_the_next_offer_s_commit(store: Store) -> None:
    tenant_id = await tenant(store)
    offered: asyncio.Queue[Command] = asyncio.Queue()
    inbox = InProcess()
    inbox.subscribe(lambda c: offered.put_nowait(c) if c.kind is CommandKind.OFFER else None)
    acd = AcdService(
        store, FixedConfig(config(tenant_id)), transports=[inbox], clock=Clock(), rng=random.Random(0),
        linger_s=FOREVER,
    )  # fmt: skip
    assert await acd.start()
    acd.login("acme-bob")  # no command: lingers
    await settle()
    assert acd.writer.batches == 0
    assert not any(row["logged_in"] for row in (await load(store)).agents)

    call = acd.submit(NewItem("acme/sales", q.Channel.VOICE, tenant_id, caller_id="0611"))  # an offer: at once
    offer = await asyncio.wait_for(offered.get(), WITHIN)
    assert (offer.item_id, offer.agent_id) == (call, "acme-bob")
    assert acd.writer.batches == 1  # the login rode in the offer's commit
    stored = await load(store)
    assert [(r["agent_id"], r["logged_in"]) for r in stored.agents if r["agent_id"] == "acme-bob"] == [
        ("acme-bob", True)
    ]
    assert [(r["item_id"], r["status"]) for r in stored.items] == [(call, "offered")]

    acd.accept(call, "acme-bob")  # no command: lingers until a flush
    await settle()
    assert acd.writer.batches == 1
    await asyncio.wait_for(acd.flush(), WITHIN)
    assert acd.writer.batches == 2
    assert [(r["item_id"], r["status"]) for r in (await load(store)).items] == [(call, "connected")]
    acd.complete(call)
    await asyncio.wait_for(acd.stop(), WITHIN)  # a clean stop writes what lingers
    assert (await load(store)).items == []
