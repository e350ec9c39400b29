"""The ACD writer's linger (as ``voice run`` embeds it): a decision without commands waits for the next one that
has some and rides in its commit; an offer never waits for the linger, nor does a ``flush``."""

from __future__ import annotations

import asyncio
import random

import pytest

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


@pytest.mark.parametrize("proven", [True, False], ids=["answer-proven", "no-proof"])
async def test_an_answer_lost_to_a_kill_is_restored_as_connected_only_when_the_adapter_proves_it(
    store: Store, proven: bool
) -> None:
    tenant_id = await tenant(store)
    clock = Clock()

    def acd_service() -> AcdService:
        return AcdService(store, FixedConfig(config(tenant_id)), transports=[InProcess()], clock=clock,
                          rng=random.Random(0), linger_s=FOREVER, lease_ttl_s=5.0)  # fmt: skip

    acd = acd_service()
    assert await acd.start()
    acd.login("acme-bob")
    call = acd.submit(NewItem("acme/sales", q.Channel.VOICE, tenant_id, caller_id="0611"))
    await asyncio.wait_for(acd.flush(), WITHIN)
    acd.accept(call, "acme-bob")  # lingers: the kill comes first
    await settle()
    await acd.crash()
    assert [(r["item_id"], r["status"]) for r in (await load(store)).items] == [(call, "offered")]

    clock.now += 10  # the killed ACD's lease ran out
    asked: list[str] = []

    async def answers() -> dict[str, tuple[str, float]]:
        asked.append(call)
        return {call: ("acme-bob", clock.now - 9), "gone-caller": ("acme-anna", 0.0)} if proven else {}

    again = acd_service()
    again.answers = answers
    assert await asyncio.wait_for(again.start(), WITHIN)
    assert asked == [call]  # asked once, because an item was stored as offered
    item = again.item_view(call)
    assert item is not None
    cancelled = [c for c in again.restored.commands if isinstance(c, q.CancelOffer)]
    if proven:
        assert (item.status, item.agent_id, item.connected_at) == (q.ItemStatus.CONNECTED, "acme-bob", clock.now - 9)
        assert cancelled == [] and again.agent_status("acme-bob") is q.AgentStatus.BUSY
        rows = (await load(store)).items
        assert [(r["item_id"], r["status"], r["agent"]) for r in rows] == [(call, "connected", "acme-bob")]
    else:  # the row is trusted: the offer is cancelled, bob rung again
        assert [(c.item_id, c.agent_id) for c in cancelled] == [(call, "acme-bob")]
        assert item.status is q.ItemStatus.OFFERED
    await asyncio.wait_for(again.stop(), WITHIN)
