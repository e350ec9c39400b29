"""The ACD service on the real store: tickets taken at once, requests from other processes, commands read back
by sequence, and the lease: two services, one routes; the first killed, the second takes over with its state."""

from __future__ import annotations

import asyncio
import random

from tvoxcc.acd import (
    AcdConfig,
    AcdService,
    Command,
    CommandKind,
    CommandReader,
    FixedConfig,
    InProcess,
    InputKind,
    InStore,
    LeaseLost,
    NewItem,
    NotRouting,
    load,
    send_input,
)
from tvoxcc.queues import model as q
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


class Clock:
    def __init__(self) -> None:
        self.now = 2_000_000.0

    def __call__(self) -> float:
        return self.now


async def tenant(store: Store) -> int:
    async with store.session() as session:
        row = m.Tenant(name="acme")
        session.add(row)
        await session.commit()
        return row.id


def config(tenant_id: int) -> AcdConfig:
    queues = [q.QueueConfig("acme/support", wrapup_s=30), q.QueueConfig("acme/sales")]
    agents = [
        (q.AgentConfig("acme-anna", {q.Channel.VOICE: 1, q.Channel.MAIL: 2}), [("acme/support", 0, 1)]),
        (q.AgentConfig("acme-bob", {q.Channel.VOICE: 1}), [("acme/support", 0, 1), ("acme/sales", 0, 1)]),
    ]
    names = ["acme/support", "acme/sales", "acme-anna", "acme-bob"]
    return AcdConfig(queues, agents, dict.fromkeys(names, tenant_id))


def service(store: Store, tenant_id: int, clock: Clock, *transports: object, ttl: float = 5.0) -> AcdService:
    return AcdService(
        store,
        FixedConfig(config(tenant_id)),
        transports=list(transports) or [InStore()],  # type: ignore[arg-type]
        clock=clock,
        rng=random.Random(0),
        lease_ttl_s=ttl,
        standby_poll_s=0.01,
    )


async def test_a_ticket_is_assigned_when_offered_and_voice_blocks_it(store: Store) -> None:
    tenant_id, clock = await tenant(store), Clock()
    got: list[Command] = []
    inbox = InProcess()
    inbox.subscribe(got.append, channels=[q.Channel.MAIL])
    acd = service(store, tenant_id, clock, inbox, InStore())
    assert await acd.start()
    acd.login("acme-anna")
    call = acd.submit(NewItem("acme/support", q.Channel.VOICE, tenant_id, caller_id="0611"))  # anna rings
    ticket = acd.submit(NewItem("acme/support", q.Channel.MAIL, tenant_id, ref="T-1042", auto_accept=True))
    await acd.flush()

    def offers() -> list[Command]:  # agent commands (wrap-up…) come too
        return [c for c in got if c.kind is CommandKind.OFFER]

    assert offers() == []  # anna's phone rings: voice blocks mail, by construction
    acd.accept(call, "acme-anna")
    acd.complete(call)  # then 30 s of wrap-up: still nothing
    await acd.flush()
    assert offers() == [] and acd.view().items[ticket].status is q.ItemStatus.WAITING
    assert [c.kind for c in got] == [CommandKind.START_WRAPUP]
    clock.now += 31
    acd.tick()
    assert offers() == []  # decided, not committed yet: not released
    await acd.flush()
    assert [(c.kind, c.item_id, c.agent_id, c.ref, c.tenant_id) for c in offers()] == [
        (CommandKind.OFFER, ticket, "acme-anna", "T-1042", tenant_id)
    ]
    assert acd.view().items[ticket].status is q.ItemStatus.CONNECTED  # taken at once: the offer is the assignment
    stored = await load(store)
    row = next(r for r in stored.items if r["item_id"] == ticket)
    assert row["status"] == "connected" and row["agent"] == "acme-anna" and row["ref"] == "T-1042"
    await acd.stop()


async def test_requests_from_other_processes_are_applied_once_and_commands_read_by_sequence(store: Store) -> None:
    tenant_id, clock = await tenant(store), Clock()
    reader = CommandReader(store, channels=[q.Channel.CHAT])
    assert await reader.read() == []  # from now on
    acd = service(store, tenant_id, clock)
    assert await acd.start()
    await send_input(store, InputKind.LOGIN, agent_id="acme-bob")
    await send_input(store, InputKind.SUBMIT, item_id="chat-1", queue="acme/sales", channel="chat", ref="c1")
    await send_input(store, InputKind.SUBMIT, item_id="chat-1", queue="acme/sales", channel="chat")  # twice
    await send_input(store, InputKind.PAUSE, agent_id="nobody", code="lunch")
    assert await acd.take_inputs() == 4
    assert await acd.take_inputs() == 0  # not read twice while their rows are being written
    await acd.flush()
    async with store.session() as session:
        rows = (await session.execute(m.AcdInput.__table__.select().order_by(m.AcdInput.seq))).all()
    assert all(r.taken_at is not None for r in rows)
    assert [r.error is None for r in rows] == [True, True, False, False]
    assert "already queued" in (rows[2].error or "") and "nobody" in (rows[3].error or "")
    # bob has no chat capacity: the chat waits; it is visible to any process
    stored = await load(store)
    assert [(r["item_id"], r["status"], r["ref"]) for r in stored.items] == [("chat-1", "waiting", "c1")]
    assert stored.lease is not None and stored.lease["holder"] == acd.lease.holder
    await acd.stop()
    # a restarted ACD takes the requests written while none ran, exactly once
    await send_input(store, InputKind.ABANDON, item_id="chat-1")
    again = service(store, tenant_id, clock)
    assert await again.start()
    assert await again.take_inputs() == 1
    await again.flush()
    assert (await load(store)).items == []
    await again.stop()
    assert [c.kind for c in await reader.read()] == []  # no chat was ever offered (no chat capacity)


async def test_a_request_committed_after_a_higher_numbered_one_is_still_taken(store: Store) -> None:
    """On PostgreSQL a request's number is drawn at insert: the lower one may commit last (concurrent writers)."""
    if store.engine.dialect.name != "postgresql":
        return  # SQLite's single writer commits in number order: nothing to show there
    tenant_id, clock = await tenant(store), Clock()
    acd = service(store, tenant_id, clock)
    assert await acd.start()
    async with store.session() as slow:
        slow.add(m.AcdInput(kind=str(InputKind.LOGIN), agent_id="acme-anna", payload={}))
        await slow.flush()  # numbered, not committed
        await send_input(store, InputKind.LOGIN, agent_id="acme-bob")  # numbered above it, committed first
        assert await acd.take_inputs() == 1
        await slow.commit()
    assert await acd.take_inputs() == 1  # anna's login is not skipped
    await acd.flush()
    assert await acd.take_inputs() == 0
    assert acd.view().agents["acme-anna"].logged_in and acd.view().agents["acme-bob"].logged_in
    await acd.stop()


async def test_commands_reach_another_process_through_the_store(store: Store) -> None:
    tenant_id, clock = await tenant(store), Clock()
    acd = service(store, tenant_id, clock)
    assert await acd.start()
    reader = CommandReader(store, channels=[q.Channel.VOICE], poll_s=0.05)
    await reader.read()
    acd.login("acme-bob")
    acd.submit(NewItem("acme/sales", q.Channel.VOICE, tenant_id, item_id="call-1", ref="chan-1"))
    follow = reader.follow()
    first = await asyncio.wait_for(anext(follow), 10)
    await follow.aclose()
    assert (first.kind, first.item_id, first.agent_id, first.ref) == (CommandKind.OFFER, "call-1", "acme-bob", "chan-1")
    assert first.seq > 0 and first.router_command() == q.Offer("call-1", "acme-bob", "acme/sales", q.Channel.VOICE, 15)
    await acd.stop()


async def test_only_one_acd_routes_and_a_standby_takes_over_with_the_same_state(store: Store) -> None:
    tenant_id, clock = await tenant(store), Clock()
    first, second = service(store, tenant_id, clock), service(store, tenant_id, clock)
    assert await first.start()
    assert not await second.start(wait=False)  # standby: the lease is held
    try:
        second.login("acme-bob")
        raise AssertionError("a standby took a request")
    except NotRouting:
        pass
    first.login("acme-anna")
    first.login("acme-bob")
    first.pause("acme-anna", "lunch")
    call = first.submit(NewItem("acme/support", q.Channel.VOICE, tenant_id, item_id="call-1"))
    first.accept(call, "acme-bob")
    first.submit(NewItem("acme/sales", q.Channel.VOICE, tenant_id, item_id="call-2"))  # waits: bob is busy
    await first.flush()
    before = first.view()
    await first.crash()  # killed: the lease is not given up
    if store.engine.dialect.name == "sqlite":
        assert not await second.start(wait=False)  # SQLite: the row is held until it expires
        clock.now += 6
    standby = asyncio.create_task(second.start(wait=True))
    assert await asyncio.wait_for(standby, 10)
    after = second.view()
    assert after.agents["acme-anna"].pause_code == "lunch"
    assert after.agents["acme-bob"].connected == ("call-1",)
    assert after.waiting_order("acme/sales") == before.waiting_order("acme/sales") == ["call-2"]
    # the deposed one cannot write any more: its lease epoch is gone
    stored = await load(store)
    assert stored.lease is not None and stored.lease["holder"] == second.lease.holder
    second.complete(call)
    await second.flush()
    assert second.view().agents["acme-bob"].status == q.AgentStatus.WRAPUP
    await second.stop()


async def test_run_takes_requests_and_fires_timers_until_stopped(store: Store) -> None:
    tenant_id = await tenant(store)
    acd = AcdService(store, FixedConfig(config(tenant_id)), rng=random.Random(0), standby_poll_s=0.05)
    stop = asyncio.Event()
    running = asyncio.create_task(acd.run(stop, poll_s=0.05))
    reader = CommandReader(store, after=0, poll_s=0.05)
    await send_input(store, InputKind.LOGIN, agent_id="acme-bob")
    await send_input(store, InputKind.SUBMIT, item_id="call-9", queue="acme/sales", channel="voice")
    follow = reader.follow()
    offer = await asyncio.wait_for(anext(follow), 10)
    await follow.aclose()
    assert (offer.kind, offer.item_id, offer.agent_id) == (CommandKind.OFFER, "call-9", "acme-bob")
    stop.set()
    await asyncio.wait_for(running, 10)
    assert not acd.routing and (await load(store)).lease["holder"] == ""  # type: ignore[index]


async def test_a_deposed_acd_writes_and_releases_nothing_and_listeners_are_woken(store: Store) -> None:
    tenant_id, clock = await tenant(store), Clock()
    got: list[Command] = []
    inbox = InProcess()
    inbox.subscribe(got.append)
    acd = service(store, tenant_id, clock, inbox, InStore())
    assert await acd.start()
    # PostgreSQL: the NOTIFY sent with the batch wakes a reader that would otherwise sleep a minute
    postgres = store.engine.dialect.name == "postgresql"
    follow = CommandReader(store, after=0, poll_s=60.0 if postgres else 0.05).follow()
    first = asyncio.create_task(anext(follow))
    await asyncio.sleep(0.2)  # the reader is listening (nothing to read yet)
    acd.login("acme-bob")
    acd.submit(NewItem("acme/sales", q.Channel.VOICE, tenant_id, item_id="call-1"))
    await acd.flush()
    assert (await asyncio.wait_for(first, 10)).item_id == "call-1"
    await follow.aclose()
    assert [c.item_id for c in got if c.kind is CommandKind.OFFER] == ["call-1"]
    # another ACD took the lease (this one stalled past its expiry): its epoch moved on
    async with store.session() as session:
        await session.execute(m.AcdLease.__table__.update().values(epoch=m.AcdLease.epoch + 1, holder="other"))
        await session.commit()
    acd.accept("call-1", "acme-bob")
    acd.submit(NewItem("acme/support", q.Channel.VOICE, tenant_id, item_id="call-2"))
    try:
        await acd.flush()
        raise AssertionError("a deposed ACD committed its decisions")
    except LeaseLost:
        pass
    assert [c.item_id for c in got if c.kind is CommandKind.OFFER] == ["call-1"]  # nothing released
    stored = await load(store)
    assert [(r["item_id"], r["status"]) for r in stored.items] == [("call-1", "offered")]  # nothing written
    async with store.session() as session:
        commands = (await session.execute(m.AcdCommand.__table__.select())).all()
    assert [c.item_id for c in commands] == ["call-1"]
    try:
        acd.complete("call-1")
        raise AssertionError("a deposed ACD took a request")
    except NotRouting:
        pass
    await acd.crash()


async def test_an_embedding_adapter_writes_rows_only_for_the_other_channels(store: Store) -> None:
    """``voice run``'s set-up: its calls' commands in process, rows only for the other channels' adapters
    (also on the writer's one-round-trip path)."""
    tenant_id, clock = await tenant(store), Clock()
    calls: list[Command] = []
    inbox = InProcess()
    inbox.subscribe(calls.append, channels=[q.Channel.VOICE])
    others = [c for c in q.Channel if c is not q.Channel.VOICE]
    acd = service(store, tenant_id, clock, inbox, InStore(channels=others))
    reader = CommandReader(store, after=0)
    assert await acd.start()
    acd.login("acme-anna")
    acd.login("acme-bob")
    call = acd.submit(NewItem("acme/sales", q.Channel.VOICE, tenant_id, caller_id="0611"))  # bob rings
    ticket = acd.submit(NewItem("acme/support", q.Channel.MAIL, tenant_id, ref="T-7", auto_accept=True))
    await acd.flush()
    rows = await reader.read()
    assert [(c.kind, c.item_id) for c in calls if c.kind is CommandKind.OFFER] == [(CommandKind.OFFER, call)]
    assert [(c.kind, c.item_id, c.agent_id) for c in rows if c.item_id is not None] == [
        (CommandKind.OFFER, ticket, "acme-anna")
    ]
    await acd.stop()


async def test_an_agent_gone_from_the_configuration_is_logged_out_once_free_though_nothing_changed_since(
    store: Store,
) -> None:
    """A look at an unchanged configuration is skipped only while nothing waits on the router's state: an agent
    removed mid-call keeps the call, and its logout comes at the first look after the call ends."""
    tenant_id, clock = await tenant(store), Clock()
    acd = service(store, tenant_id, clock)
    assert await acd.start()
    acd.login("acme-anna")
    call = acd.submit(NewItem("acme/support", q.Channel.VOICE, tenant_id, caller_id="0611"))
    acd.accept(call, "acme-anna")
    whole = config(tenant_id)
    without_anna = AcdConfig(whole.queues, [a for a in whole.agents if a[0].agent_id != "acme-anna"], whole.tenants)
    acd.config = FixedConfig(without_anna)
    assert await acd.reload_config() == 1  # her membership goes; she keeps the call
    assert await acd.reload_config() == 0  # the same configuration: nothing to do while she is on the call
    anna = acd.view().agents["acme-anna"]
    assert anna.logged_in and anna.connected == (call,) and anna.members == ()
    acd.complete(call)
    assert await acd.reload_config() == 1  # the same configuration, but now she is free: logged out
    assert not acd.view().agents["acme-anna"].logged_in
    assert await acd.reload_config() == 0
    await acd.stop()
