"""tvoxcc.store.peek: a poller's cheap "anything for me?" sees what other sessions committed; the ACD's
configuration is built again only when a row it is read from changed (tvoxcc.acd.config.StoreConfig)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from tvoxcc.acd.config import StoreConfig
from tvoxcc.store import models as m
from tvoxcc.store import peek
from tvoxcc.store.engine import Store


async def test_exists_and_rows_see_what_another_session_committed(store: Store) -> None:
    waiting = select(m.AcdInput.seq).where(m.AcdInput.taken_at.is_(None))
    assert not await peek.exists(store, peek.probe(waiting))
    async with store.session() as session:
        session.add(m.AcdInput(kind="agent-state", payload={}, created_at=datetime.now(UTC)))
        await session.commit()
    assert await peek.exists(store, peek.probe(waiting))
    assert len(await peek.rows(store, waiting)) == 1
    async with store.session() as session:
        await session.execute(update(m.AcdInput).values(taken_at=datetime.now(UTC)))
        await session.commit()
    assert not await peek.exists(store, peek.probe(waiting))


async def _org(store: Store) -> int:
    async with store.session() as session:
        tenant = m.Tenant(name="acme")
        session.add(tenant)
        await session.flush()
        service = m.Service(tenant_id=tenant.id, name="sales")
        skill = m.Skill(tenant_id=tenant.id, name="french")
        session.add_all([service, skill])
        await session.flush()
        queue = m.Queue(tenant_id=tenant.id, name="q1", service_id=service.id)
        agent = m.Agent(tenant_id=tenant.id, name="anna", extension="201", sip_password="x" * 16)
        session.add_all([queue, agent])
        await session.flush()
        session.add(m.AgentSkill(tenant_id=tenant.id, agent_id=agent.id, skill_id=skill.id, level=3))
        session.add(m.QueueMember(tenant_id=tenant.id, queue_id=queue.id, agent_id=agent.id))
        await session.commit()
        return agent.id


async def test_the_configuration_is_built_again_only_when_a_row_changed(store: Store) -> None:
    agent_id = await _org(store)
    config = StoreConfig(store)
    first = await config.load()
    assert await config.load() is first  # nothing changed: the configuration built last
    (anna, members), *_ = first.agents
    assert anna.skills["french"] == 3 and members and members[0][0] == "acme/q1"
    async with store.session() as session:  # as `agent set --skill french=7` would
        await session.execute(update(m.AgentSkill).where(m.AgentSkill.agent_id == agent_id).values(level=7))
        await session.commit()
    changed = await config.load()
    assert changed is not first
    assert changed.agents[0][0].skills["french"] == 7
    assert await config.load() is changed
    async with store.session() as session:  # a JSON value, as `agent set --capacity voice=1,mail=3` would
        await session.execute(update(m.Agent).where(m.Agent.id == agent_id).values(capacity={"voice": 1, "mail": 3}))
        await session.commit()
    recapped = await config.load()
    assert recapped is not changed and dict(recapped.agents[0][0].capacity) == {"voice": 1, "mail": 3}
    await store.dispose()  # closes peek's reader with the store
