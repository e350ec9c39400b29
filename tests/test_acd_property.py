"""The ACD service over the real store (SQLite and PostgreSQL), thousands of random events and restarts.

Voice, mail (tickets taken at once), chat and callback items; logins, pauses, wrap-ups, capacity changes; and
at random points the service is killed (nothing given up) and a new one is built from the rows. Checked all
along: no agent is offered more than its capacity, no item is offered while an offer of it is outstanding, no
item is lost across a restart, the waiting order survives it, the rows hold what the router held, and the
reference router (LinearScanRouter), restored from its own memory at the same points, decides alike.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tvoxcc.acd import AcdConfig, AcdService, Command, CommandKind, FixedConfig, InProcess, NewItem, load
from tvoxcc.acd.rows import router_view
from tvoxcc.queues import model as q
from tvoxcc.queues.reference import LinearScanRouter
from tvoxcc.queues.router import Router
from tvoxcc.queues.views import RouterView
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

QUEUES = ("t/q0", "t/q1", "t/q2", "t/q3")
CHANNELS = (q.Channel.VOICE, q.Channel.VOICE, q.Channel.MAIL, q.Channel.CHAT, q.Channel.CALLBACK)
CAPACITIES = (
    {q.Channel.VOICE: 1},
    {q.Channel.VOICE: 1, q.Channel.CHAT: 2},
    {q.Channel.VOICE: 1, q.Channel.MAIL: 3, q.Channel.CHAT: 1},
    {q.Channel.MAIL: 2},
)
TTL = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def make_config(rng: random.Random, tenant_id: int, capacities: dict[str, dict[q.Channel, int]]) -> AcdConfig:
    strategies = list(q.Strategy)
    relax = (q.RelaxRule(20, 3), q.RelaxRule(45, 1))
    queues = [
        q.QueueConfig("t/q0", rng.choice(strategies), {"en": 5}, relax, wrapup_s=3, ring_timeout_s=10, max_wait_s=300),
        q.QueueConfig("t/q1", rng.choice(strategies), {"it": 4}, relax[:1], priority=2, wrapup_s=0, rona_pause=False),
        q.QueueConfig(
            "t/q2",
            rng.choice(strategies),
            overflow=(q.OverflowRule(q.OverflowWhen.WAIT, q.OverflowAction.QUEUE, "t/q0", after_s=40),),
            channel_priority={q.Channel.CHAT: 3},
            wrapup_s=5,
        ),
        q.QueueConfig("t/q3", rng.choice(strategies), {"billing": 2}),
    ]
    agents = []
    for n in range(8):
        agent_id = f"t-a{n}"
        skills = {s: rng.randint(1, 9) for s in ("en", "it", "billing") if rng.random() < 0.7}
        config = q.AgentConfig(agent_id, capacities[agent_id], rng.random() < 0.8, skills)
        members = [(queue, rng.randint(0, 2), rng.randint(1, 3)) for queue in rng.sample(QUEUES, rng.randint(1, 3))]
        agents.append((config, members))
    tenants = {name: tenant_id for name in QUEUES} | {config.agent_id: tenant_id for config, _ in agents}
    return AcdConfig(queues, agents, tenants)


class Adapter:
    """What adapters saw: commands released (after commit), the offers outstanding per item."""

    def __init__(self) -> None:
        self.released: list[Command] = []
        self.offers = 0
        self.outstanding: dict[str, set[str]] = {}

    def __call__(self, command: Command) -> None:
        self.released.append(command)

    def settle(self, out: q.Outputs) -> None:
        """Apply the commands released since the last step; an Offer for an item already ringing fails.

        Rings that ended without a command (ring timeouts, declines) end first: within a decision they
        concern earlier offers; items answered in it (tickets: offered and taken at once) end last."""
        batch, self.released = self.released, []
        for event in out.events:
            if event.item_id and event.kind is q.EventKind.RING_NO_ANSWER:
                self.outstanding.get(event.item_id, set()).discard(event.agent_id or "")
        new: dict[str, set[str]] = {}
        for command in batch:
            item = command.item_id or ""
            if command.kind is CommandKind.OFFER:
                self.offers += 1
                assert not self.outstanding.get(item), f"{item} offered while an offer of it is outstanding"
                assert command.agent_id not in new.get(item, set())
                new.setdefault(item, set()).add(command.agent_id or "")
            elif command.kind is CommandKind.CANCEL_OFFER:
                self.outstanding.get(item, set()).discard(command.agent_id or "")
                new.get(item, set()).discard(command.agent_id or "")
        for item, agents in new.items():
            self.outstanding.setdefault(item, set()).update(agents)
        for event in out.events:
            if event.kind is q.EventKind.ITEM_CONNECTED and event.item_id:
                self.outstanding.pop(event.item_id, None)


def check_capacity(view: RouterView, offered: set[tuple[str, q.Channel]]) -> None:
    """No agent just offered an item has more items offered or connected than its capacity on that item's
    channel, counted from the items themselves (an admin may lower a capacity below what is in hand)."""
    held: Counter[tuple[str, q.Channel]] = Counter()
    for item in view.items.values():
        cap = q.CAPACITY_CHANNEL[item.channel]
        holders = list(item.offered_to) if item.status is q.ItemStatus.OFFERED else []
        if item.status in (q.ItemStatus.CONNECTED, q.ItemStatus.DIALING) and item.agent_id:
            holders.append(item.agent_id)
        for agent in holders:
            held[(agent, cap)] += 1
    for (agent_id, cap), count in held.items():
        if (agent_id, cap) in offered:
            assert count <= view.agents[agent_id].capacity.get(cap, 0), (agent_id, cap, count)


def auto_accepted(router: Router, out: q.Outputs, tickets: set[str], now: float) -> q.Outputs:
    """The reference's side of the service's auto-accept of tickets."""
    index = 0
    while index < len(out.commands):
        command = out.commands[index]
        index += 1
        if isinstance(command, q.Offer) and command.item_id in tickets:
            item = router.item_view(command.item_id)
            if item is not None and item.status is q.ItemStatus.OFFERED and command.agent_id in item.offered_to:
                more = router.accept(command.item_id, command.agent_id, now)
                out.commands += more.commands
                out.events += more.events
                out.queue_log += more.queue_log
    return out


def pick(view: RouterView, adapter: Adapter, rng: random.Random, n: int) -> tuple[str, tuple[object, ...]]:
    by_status: dict[q.ItemStatus, list[str]] = {}
    for item in sorted(view.items.values(), key=lambda i: i.item_id):
        by_status.setdefault(item.status, []).append(item.item_id)
    agent = rng.choice(sorted(view.agents))
    ringing = sorted((item, agent) for item, agents in adapter.outstanding.items() for agent in agents)
    roll = rng.random()
    if roll < 0.25:
        return "submit", (n,)
    if roll < 0.50 and ringing:
        ringing_item, target = rng.choice(ringing)
        return ("accept" if rng.random() < 0.8 else "decline"), (ringing_item, target)
    if roll < 0.55 and by_status.get(q.ItemStatus.CONNECTED):
        return "complete", (rng.choice(by_status[q.ItemStatus.CONNECTED]),)
    if roll < 0.60 and by_status.get(q.ItemStatus.WAITING):
        return "abandon", (rng.choice(by_status[q.ItemStatus.WAITING]),)
    if roll < 0.63 and by_status.get(q.ItemStatus.WAITING):
        return "request_callback", (rng.choice(by_status[q.ItemStatus.WAITING]), "0612345")
    if roll < 0.68 and by_status.get(q.ItemStatus.DIALING):
        return rng.choice(["callback_answered", "callback_answered", "callback_failed"]), (
            rng.choice(by_status[q.ItemStatus.DIALING]),
        )
    if roll < 0.74:
        return ("pause", (agent, "BRK")) if rng.random() < 0.3 else ("unpause", (agent,))
    if roll < 0.79:
        return ("login", (agent,)) if rng.random() < 0.7 else ("logout", (agent,))
    if roll < 0.82:
        return "end_wrapup", (agent,)
    if roll < 0.84:
        return "capacity", (agent, rng.randrange(len(CAPACITIES)))
    return "tick", ()


def call_router(router: Router, method: str, args: tuple[object, ...], now: float) -> q.Outputs:
    if method == "decline":
        return router.ring_no_answer(str(args[0]), str(args[1]), now)
    if method == "request_callback":
        return router.request_callback(str(args[0]), now, number=str(args[1]))
    if method == "pause":
        return router.pause(str(args[0]), now, str(args[1]))
    if method == "accept":
        return router.accept(str(args[0]), str(args[1]), now)
    if method == "tick":
        return router.tick(now)
    result: q.Outputs = getattr(router, method)(*args, now)
    return result


async def restart(store: Store, service: AcdService, config: AcdConfig, clock: Clock, seed: float) -> AcdService:
    await service.flush()
    await service.crash()  # killed: the lease is not given up, nothing more is written
    clock.now += TTL + 1  # … so on SQLite the next one waits for it to expire
    fresh = AcdService(
        store,
        FixedConfig(config),
        transports=service.transports,
        clock=clock,
        rng=random.Random(seed),
        lease_ttl_s=TTL,
        standby_poll_s=0.01,
    )
    assert await fresh.start(wait=False)
    return fresh


@pytest.mark.parametrize("seed", [1, 2])
async def test_random_events_and_restarts_over_the_store(store: Store, seed: int) -> None:
    async with store.session() as session:
        tenant = m.Tenant(name="t")
        session.add(tenant)
        await session.commit()
    rng, clock = random.Random(seed), Clock()
    capacities = {f"t-a{n}": random.Random(seed * 100 + n).choice(CAPACITIES) for n in range(8)}
    config = make_config(random.Random(seed), tenant.id, capacities)
    adapter, inbox = Adapter(), InProcess()
    inbox.subscribe(adapter)
    service = AcdService(
        store, FixedConfig(config), transports=[inbox], clock=clock, rng=random.Random(0), lease_ttl_s=TTL
    )
    assert await service.start()
    reference: Router = LinearScanRouter(random.Random(0))
    reference.restore(router_view(0.0, config.queues, config.agents, [], [], []), clock.now)
    tickets: set[str] = set()
    restarts = 0
    for n in range(2500):
        clock.now += rng.choice([0, 0, 0.5, 1, 2, 5, 11])
        if rng.random() < 0.012:
            before = reference.view()
            stored = await load(store)
            from_rows = router_view(stored.router_at, config.queues, config.agents, stored.items, stored.agents, [])
            assert {i: v for i, v in from_rows.items.items()} == {
                i: _stored_fields(v) for i, v in before.items.items()
            }, "the rows do not hold what the router held"
            seed_now = rng.random()
            service = await restart(store, service, config, clock, seed_now)
            reference = LinearScanRouter(random.Random(seed_now))
            expected = auto_accepted(reference, reference.restore(before, clock.now), tickets, clock.now)
            assert service.restored == expected
            after = service.view()
            ended = {c.item_id for c in expected.commands if isinstance(c, q.ExitQueue)} | {
                c.item_id
                for c in expected.commands
                if isinstance(c, q.Overflow) and c.action in (q.OverflowAction.IVR, q.OverflowAction.VOICEMAIL)
            }  # what the timers due by the restart ended (a max wait, an overflow out of the ACD)
            assert set(after.items) == set(before.items) - ended, "an item was lost across the restart"
            for queue in QUEUES:
                kept = [i for i in before.waiting_order(queue) if i in after.items and after.items[i].queue == queue]
                assert [i for i in after.waiting_order(queue) if i in kept] == [
                    i for i in kept if after.items[i].status is q.ItemStatus.WAITING
                ], f"waiting order of {queue} changed"
            await service.flush()
            adapter.settle(service.restored)
            restarts += 1
            continue
        # The timers due first (an adapter learns a ring timed out from the events of the call that fired it;
        # a refused call would hide them).
        ticked = service.tick()
        assert ticked == auto_accepted(reference, reference.tick(clock.now), tickets, clock.now)
        await service.flush()
        adapter.settle(ticked)
        view = service.view()
        method, args = pick(view, adapter, rng, n)
        if method == "capacity":  # an admin changes an agent's capacity: the configuration is reloaded
            capacities[str(args[0])] = CAPACITIES[int(str(args[1]))]
            config = AcdConfig(
                config.queues,
                [(q.AgentConfig(c.agent_id, capacities[c.agent_id], c.voice_blocks_others, c.skills), ms)
                 for c, ms in config.agents],
                config.tenants,
            )  # fmt: skip
            service.config = FixedConfig(config)
            await service.reload_config()
            agent_config = next(c for c, _ in config.agents if c.agent_id == args[0])
            changed = reference.set_capacity(agent_config.agent_id, agent_config.capacity, clock.now)
            # The service's side is compared through the views below; the adapter learns the events from it.
            got: q.Outputs | str = auto_accepted(reference, changed, tickets, clock.now)
        else:
            got, want = _both(service, reference, method, args, n, tickets, clock.now)
            assert got == want, (n, method, args)
        await service.flush()  # the adapter acts on what is committed
        adapter.settle(got if isinstance(got, q.Outputs) else q.Outputs())
        now_view = service.view()
        commands = got.commands if isinstance(got, q.Outputs) else []
        dialed = {i for i, item in view.items.items() if item.status is q.ItemStatus.DIALING}  # capacity taken
        rung = [c for c in commands if isinstance(c, q.Offer) and c.item_id not in dialed]
        check_capacity(now_view, {(c.agent_id, q.CAPACITY_CHANNEL[c.channel]) for c in rung})
        check_capacity(now_view, {(c.agent_id, q.Channel.VOICE) for c in commands if isinstance(c, q.PlaceCallback)})
        assert now_view == reference.view()
    await service.stop()
    assert restarts >= 15 and adapter.offers > 150 and len(tickets) > 100


def _stored_fields(view: object) -> object:
    from dataclasses import replace

    from tvoxcc.queues.views import ItemView

    assert isinstance(view, ItemView)
    return replace(view, stage=0)


def _both(
    service: AcdService,
    reference: Router,
    method: str,
    args: tuple[object, ...],
    n: int,
    tickets: set[str],
    now: float,
) -> tuple[q.Outputs | str, q.Outputs | str]:
    """The same request to the service and to the reference (a refusal: the same message from both)."""
    if method == "submit":
        rng = random.Random(n)
        channel = rng.choice(CHANNELS)
        queue = rng.choice(QUEUES)
        item = NewItem(
            queue,
            channel,
            item_id=f"i{n}",
            contact_priority=rng.choice([0, 0, 5]),
            caller_id="06" if channel is not q.Channel.MAIL else "",
            callback_number="0611" if channel is q.Channel.CALLBACK else "",
            auto_accept=channel is q.Channel.MAIL,
        )
        if item.auto_accept:
            tickets.add(item.item_id)
        work = q.WorkItem(item.item_id, queue, channel, item.contact_priority, item.caller_id, item.callback_number)
        try:
            want: q.Outputs | str = auto_accepted(reference, reference.enqueue(work, now), tickets, now)
        except q.RouterError as error:
            want = str(error)
        try:
            got: q.Outputs | str = service.submit_item(item)[1]
        except q.RouterError as error:
            got = str(error)
        return got, want
    try:
        want = auto_accepted(reference, call_router(reference, method, args, now), tickets, now)
    except q.RouterError as error:
        want = str(error)
    try:
        got = getattr(service, method)(*args)
    except q.RouterError as error:
        got = str(error)
    return got, want
