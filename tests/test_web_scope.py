"""A supervisor scoped to groups, over real HTTP on SQLite and PostgreSQL: they see and act on their groups'
agents only (agent list and live view, recordings listed and played, listen requests) and their groups' queues
only; an unscoped supervisor still sees the whole tenant."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update

from tests.test_web_api import Client, Login, get, world  # noqa: F401  (fixture)
from tests.test_web_recordings import login_rec, recorded  # noqa: F401  (fixtures)
from tests.web_world import PASSWORD
from tvoxcc.admin.passwords import hash_password
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


async def _scoped_supervisor(store: Store) -> None:
    """Group team-a = {alice}, working queue sales-it; sam supervises team-a only (no phone linked yet)."""
    async with store.session() as s:
        acme = await s.scalar(select(m.Tenant.id).where(m.Tenant.name == "acme"))
        agents = dict((await s.execute(select(m.Agent.name, m.Agent.id).where(m.Agent.tenant_id == acme))).all())
        group = m.AgentGroup(tenant_id=acme, name="team-a")
        s.add(group)
        await s.flush()
        s.add(m.GroupMember(tenant_id=acme, group_id=group.id, agent_id=agents["alice"]))
        sales = await s.scalar(select(m.Queue.id).where(m.Queue.tenant_id == acme, m.Queue.name == "sales-it"))
        s.add(m.GroupQueue(tenant_id=acme, group_id=group.id, queue_id=sales))
        sam = m.User(username="sam", role="supervisor", tenant_id=acme, password_hash=hash_password(PASSWORD))
        s.add(sam)
        await s.flush()
        s.add(m.UserGroup(tenant_id=acme, user_id=sam.id, group_id=group.id))
        await s.commit()


async def _listen(client: Client, agent: str) -> tuple[int, Any]:
    response = await client.post(f"/api/tenants/acme/agents/{agent}/listen", json={"mode": "listen"})
    return response.status, json.loads(await response.text())


async def test_a_scoped_supervisor_sees_and_acts_on_their_groups_agents_only(recorded: Any, login_rec: Login) -> None:  # noqa: F811
    store, _repository, ids, audio = recorded
    await _scoped_supervisor(store)
    sam, sara = await login_rec("sam"), await login_rec("sara")

    status, agents = await get(sam, "/api/tenants/acme/agents")
    assert status == 200 and [a["name"] for a in agents] == ["alice"]
    assert [a["name"] for a in (await get(sara, "/api/tenants/acme/agents"))[1]] == ["alice", "bob"]
    status, live = await get(sam, "/api/tenants/acme/queues/sales-it/live")
    assert status == 200 and [a["name"] for a in live["agents"]] == ["alice"]  # bob serves it; not in team-a
    assert (await get(sam, "/api/tenants/acme/queues/support/live"))[0] == 403  # not a queue of team-a
    assert (await get(sara, "/api/tenants/acme/queues/support/live"))[0] == 200
    status, queues = await get(sam, "/api/tenants/acme/queues")
    assert status == 200 and [q["name"] for q in queues] == ["sales-it"]
    assert {q["name"] for q in (await get(sara, "/api/tenants/acme/queues"))[1]} >= {"sales-it", "support"}
    status, me = await get(sam, "/api/me")
    assert status == 200 and (me["scope"], me["scope_queues"]) == (["alice"], ["sales-it"])

    # Today's figures: his agents' only (alice answered one call; the abandoned one had no agent).
    status, summary = await get(sam, "/api/tenants/acme/summary")
    assert status == 200 and list(summary["agents"]) == ["alice"] and "queues" not in summary
    assert summary["total"]["answered"] == 1 and summary["total"]["offered"] == 1
    status, whole = await get(sara, "/api/tenants/acme/summary")
    assert whole["total"]["offered"] == 2 and "sales-it" in whole["queues"]

    status, listed = await get(sam, "/api/tenants/acme/recordings")
    assert [r["agent"] for r in listed["recordings"]] == ["alice"]
    status, listed = await get(sam, "/api/tenants/acme/recordings?agent=bob")  # the filter cannot widen it
    assert listed["recordings"] == []
    assert (await sam.get(f"/api/tenants/acme/recordings/{ids['bob']}/audio")).status == 404
    played = await sam.get(f"/api/tenants/acme/recordings/{ids['alice']}/audio")
    assert played.status == 200 and await played.read() == audio["alice"]
    assert (await sara.get(f"/api/tenants/acme/recordings/{ids['bob']}/audio")).status == 200

    status, body = await _listen(sam, "bob")
    assert (status, body["reason"], body["error"]) == (403, "out-of-scope", "not an agent of your groups")
    status, body = await _listen(sam, "alice")
    assert (status, body["reason"]) == (409, "no-phone")  # allowed by the rule; only his phone is missing
    async with store.session() as s:
        bob = await s.scalar(select(m.Agent.id).where(m.Agent.name == "bob"))
        await s.execute(update(m.User).where(m.User.username == "sam").values(agent_id=bob))
        await s.commit()
    status, body = await _listen(sam, "alice")
    assert status == 202 and body["phone"] == "acme-bob"
    async with store.session() as s:
        refused = (await s.execute(select(m.ListenSession.refused).where(m.ListenSession.supervisor == "sam"))).all()
    assert [r for (r,) in refused] == ["out-of-scope", "no-phone", None]
