"""The voice service's live snapshot: pure view of the router, debounced writes, state times (both backends)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from tests.web_world import Clock, router_of, seed
from tvoxcc.queues import model as q
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.live import LiveWriter, QueueLive, snapshot

OWNERS_Q = {"acme/sales-it": (1, "sales-it"), "acme/support": (1, "support"), "beta/help": (2, "help")}
OWNERS_A = {"acme-alice": (1, "alice"), "acme-bob": (1, "bob"), "beta-carol": (2, "carol")}


def test_snapshot_counts_callers_on_hold_and_ringing_but_not_callbacks() -> None:
    clock = Clock()
    router = router_of(clock)
    now = clock().timestamp()
    router.login("acme-alice", now)
    router.enqueue(q.WorkItem("ringing", "acme/sales-it"), now + 1)  # offered to alice at once
    router.enqueue(q.WorkItem("held", "acme/sales-it"), now + 2)
    router.enqueue(q.WorkItem("cb", "acme/support", channel=q.Channel.CALLBACK, callback_number="+39"), now + 3)
    views = snapshot(router, OWNERS_Q, OWNERS_A, {"acme-alice": now + 1})
    assert views[1].queues["sales-it"] == QueueLive(2, now + 1)
    assert views[1].queues["support"] == QueueLive(0, None)
    alice = views[1].agents["alice"]
    assert (alice.state, alice.since, alice.queues) == ("reserved", now + 1, ("sales-it",))
    assert views[2].agents["carol"].state == "logged-out" and set(views) == {1, 2}


async def versions(store: Store) -> dict[int, int]:
    async with store.session() as s:
        return dict((await s.execute(select(m.LiveTenant.tenant_id, m.LiveTenant.version))).all())


class HeldWindow:
    """The writer's debounce clock stands still and its wait lasts until the test ends it: no wall clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        self.waiting = asyncio.Event()
        self.over = asyncio.Event()

    def timer(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.waiting.set()
        await self.over.wait()
        self.now += seconds


async def test_a_burst_of_changes_is_one_write_and_other_tenants_are_left_alone(store: Store) -> None:
    await seed(store)
    clock = Clock()
    router = router_of(clock)
    window = HeldWindow()
    writer = LiveWriter(store, router, clock, debounce=0.3, timer=window.timer, sleep=window.sleep)
    await writer.start()
    await writer.flush()
    async with store.session() as s:
        tenants = dict((await s.execute(select(m.Tenant.name, m.Tenant.id))).all())
    acme, beta = tenants["acme"], tenants["beta"]
    assert await versions(store) == {acme: 1, beta: 1}
    now = clock().timestamp()
    for n in range(3):
        writer.changed(router.enqueue(q.WorkItem(f"c{n}", "acme/sales-it"), now + n))
    async with asyncio.timeout(10):  # a hang guard: a writer that never waits fails here
        await window.waiting.wait()  # the burst came right after a write: the writer waits out the window
    assert window.waits == [0.3]
    assert await versions(store) == {acme: 1, beta: 1}  # inside the window: not yet
    window.over.set()
    await writer.close()
    assert window.waits == [0.3]  # one wait, one write for the whole burst
    assert await versions(store) == {acme: 2, beta: 1}  # beta untouched
    async with store.session() as s:
        row = (await s.execute(select(m.LiveQueue).where(m.LiveQueue.queue == "sales-it"))).scalar_one()
    assert row.waiting == 3 and row.oldest_at is not None and row.oldest_at.timestamp() == now


async def test_a_lone_change_after_a_quiet_window_is_written_at_once(store: Store) -> None:
    await seed(store)
    clock = Clock()
    router = router_of(clock)
    window = HeldWindow()
    writer = LiveWriter(store, router, clock, debounce=0.3, timer=window.timer, sleep=window.sleep)
    await writer.start()
    await writer.flush()
    window.now += 0.5  # longer than the window since the last write: the leading edge
    writer.changed(router.enqueue(q.WorkItem("c1", "acme/sales-it"), clock().timestamp()))
    await writer.close()
    assert window.waits == []
    async with store.session() as s:
        acme = (await s.execute(select(m.Tenant.id).where(m.Tenant.name == "acme"))).scalar_one()
    assert (await versions(store))[acme] == 2


async def test_time_in_state_is_the_router_time_of_the_change(store: Store) -> None:
    await seed(store)
    clock = Clock()
    router = router_of(clock)
    writer = LiveWriter(store, router, clock, debounce=0.0)
    await writer.start()
    now = clock().timestamp()
    writer.changed(router.login("acme-bob", now - 100))
    writer.changed(router.pause("acme-bob", now - 42, "lunch"))
    writer.changed(router.enqueue(q.WorkItem("c1", "beta/help"), now - 5))  # not bob's: his time stays
    await writer.close()
    async with store.session() as s:
        bob = (await s.execute(select(m.LiveAgent).where(m.LiveAgent.agent == "bob"))).scalar_one()
        alice = (await s.execute(select(m.LiveAgent).where(m.LiveAgent.agent == "alice"))).scalar_one()
    assert (bob.state, bob.reason, bob.since.timestamp(), bob.queues) == (
        "paused",
        "lunch",
        now - 42,
        ["sales-it", "support"],
    )
    assert (alice.state, alice.since) == ("logged-out", clock())  # unchanged since the writer started


async def test_on_postgresql_a_notify_wakes_the_web_app_before_its_next_poll(store: Store) -> None:
    from tvoxcc.web.live import LiveHub

    await seed(store)
    clock = Clock()
    hub = LiveHub(store, clock, poll_interval=60.0)  # polling alone would not see the change in this test
    listening = await hub.listen()
    if store.engine.dialect.name != "postgresql":
        assert not listening  # SQLite has no NOTIFY: the web app polls
        return
    assert listening
    hub_task = asyncio.create_task(hub.run())
    try:
        await asyncio.sleep(0.2)  # the first poll (nothing written yet) is done; the next is a minute away
        router = router_of(clock)
        writer = LiveWriter(store, router, clock, debounce=0.0)
        await writer.start()
        writer.changed(router.enqueue(q.WorkItem("c1", "acme/sales-it"), clock().timestamp()))
        await writer.close()
        async with store.session() as s:
            acme = (await s.execute(select(m.Tenant.id).where(m.Tenant.name == "acme"))).scalar_one()
        state = await hub.wait_change(acme, 0, 5.0)
        assert state.version >= 1 and state.queues["sales-it"].waiting == 1
    finally:
        await hub.stop()
        hub_task.cancel()


async def _stored(store: Store, tenant_id: int) -> tuple[dict[str, int], dict[str, str]]:
    async with store.session() as s:
        queues = (await s.execute(select(m.LiveQueue).where(m.LiveQueue.tenant_id == tenant_id))).scalars().all()
        agents = (await s.execute(select(m.LiveAgent).where(m.LiveAgent.tenant_id == tenant_id))).scalars().all()
    return {r.queue: r.waiting for r in queues}, {r.agent: r.state for r in agents}


async def test_each_write_stores_only_what_changed_and_the_tables_equal_the_view(store: Store) -> None:
    await seed(store)
    clock = Clock()
    router = router_of(clock)
    writer = LiveWriter(store, router, clock)
    await writer.start()
    await writer.flush()
    acme = writer.queue_owner["acme/sales-it"][0]
    now = clock().timestamp()
    writer.changed(router.login("acme-alice", now))
    writer.changed(router.enqueue(q.WorkItem("c1", "acme/sales-it"), now + 1))
    writer.changed(router.enqueue(q.WorkItem("c2", "acme/sales-it"), now + 2))
    await writer.flush()
    assert await _stored(store, acme) == (
        {"sales-it": 2, "support": 0},
        {"alice": "reserved", "bob": "logged-out"},
    )
    writer.changed(router.abandon("c2", now + 3))
    del writer.agent_owner["acme-bob"]  # bob was removed from the tenant: his row goes
    await writer.flush()
    assert await _stored(store, acme) == ({"sales-it": 1, "support": 0}, {"alice": "reserved"})
    await writer.close()
