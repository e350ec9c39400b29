"""Two tenants with queues, agents, users and a live snapshot written by the real LiveWriter, for web tests.

acme: queues sales-it (alice, bob) and support (bob); agents alice (available), bob (paused: lunch);
      one caller waiting in sales-it since 30 s; one call answered by alice and one abandoned today.
beta: queue help (carol, available); nobody waiting.
Users (password PASSWORD): root (admin), sara (supervisor acme), al (agent acme = alice),
      bea (supervisor beta), cy (agent beta = carol), sue (support acme, no agent).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tvoxcc.admin.passwords import hash_password
from tvoxcc.queues import model as q
from tvoxcc.queues.router import Router
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.live import LiveWriter

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
USERS = ("root", "sara", "al", "bea", "cy", "sue")


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


async def seed(store: Store) -> None:
    hashed = hash_password(PASSWORD)
    async with store.session() as s:
        ids: dict[str, int] = {}
        for tenant, queues, agents in (
            ("acme", ("sales-it", "support"), {"alice": ("sales-it",), "bob": ("sales-it", "support")}),
            ("beta", ("help",), {"carol": ("help",)}),
        ):
            row = m.Tenant(name=tenant, timezone="Europe/Rome")
            s.add(row)
            await s.flush()
            ids[tenant] = row.id
            service = m.Service(tenant_id=row.id, name="main", channels=["voice"])
            s.add(service)
            await s.flush()
            for name in queues:
                queue = m.Queue(tenant_id=row.id, name=name, service_id=service.id)
                s.add(queue)
                await s.flush()
                ids[name] = queue.id
            for name, member_of in agents.items():
                agent = m.Agent(
                    tenant_id=row.id, name=name, display_name=name.title(), extension=str(100 + len(ids)),
                    sip_password="x", capacity={"voice": 1},
                )  # fmt: skip
                s.add(agent)
                await s.flush()
                ids[name] = agent.id
                for queue_name in member_of:
                    s.add(m.QueueMember(tenant_id=row.id, queue_id=ids[queue_name], agent_id=agent.id))
        for username, role, tenant, agent in (
            ("root", "admin", None, None),
            ("sara", "supervisor", "acme", None),
            ("al", "agent", "acme", "alice"),
            ("bea", "supervisor", "beta", None),
            ("cy", "agent", "beta", "carol"),
            ("sue", "support", "acme", None),
        ):
            s.add(
                m.User(
                    username=username, role=role, password_hash=hashed,
                    tenant_id=ids[tenant] if tenant else None, agent_id=ids[agent] if agent else None,
                )
            )  # fmt: skip
        for offset, answered in ((600, True), (300, False)):
            offered = NOW - timedelta(seconds=offset)
            s.add(
                m.Interaction(
                    tenant_id=ids["acme"], channel="voice", queue_id=ids["sales-it"], offered_at=offered,
                    answered_at=offered + timedelta(seconds=12) if answered else None,
                    agent_id=ids["alice"] if answered else None, ended_at=offered + timedelta(seconds=90),
                    outcome="answered" if answered else "abandoned",
                )
            )  # fmt: skip
        await s.commit()


def router_of(clock: Clock) -> Router:
    """The router as the voice service would hold it (names carry the tenant, agents are endpoints)."""
    router = Router(random.Random(1))
    start = clock().timestamp() - 120
    for name in ("acme/sales-it", "acme/support", "beta/help"):
        router.add_queue(q.QueueConfig(name=name), start)
    for agent, queues in (
        ("acme-alice", ("acme/sales-it",)),
        ("acme-bob", ("acme/sales-it", "acme/support")),
        ("beta-carol", ("beta/help",)),
    ):
        router.add_agent(q.AgentConfig(agent), start)
        for queue in queues:
            router.add_member(agent, queue, start)
    return router


async def live_world(store: Store, clock: Clock) -> tuple[Router, LiveWriter]:
    """acme: bob paused for lunch 60 s ago, alice busy with a call, a caller waiting for 30 s; carol available."""
    router = router_of(clock)
    writer = LiveWriter(store, router, clock, debounce=0.0)
    await writer.start()
    now = clock().timestamp()
    for step in (
        lambda: router.login("acme-bob", now - 90),
        lambda: router.pause("acme-bob", now - 60, "lunch"),
        lambda: router.login("acme-alice", now - 50),
        lambda: router.login("beta-carol", now - 50),
        lambda: router.enqueue(q.WorkItem("c1", "acme/sales-it"), now - 45),
        lambda: router.accept("c1", "acme-alice", now - 40),
        lambda: router.enqueue(q.WorkItem("c2", "acme/sales-it"), now - 30),
    ):
        writer.changed(step())
    await writer.flush()
    return router, writer
