"""A supervisor scoped to groups, over real HTTP on SQLite and PostgreSQL: they see and act on their groups'
agents only (agent list and live view, recordings listed and played, listen requests), their groups' queues
only, and the contacts their groups dealt with only (address book, journey, screen pop); an unscoped
supervisor still sees the whole tenant."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from tests.test_web_api import Client, Login, get, login, world  # noqa: F401  (fixtures)
from tests.test_web_recordings import login_rec, recorded  # noqa: F401  (fixtures)
from tests.web_world import NOW, PASSWORD
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


CONTACTS = "/api/tenants/acme/contacts"


async def _contacts_dealt_with(store: Store) -> dict[str, int]:
    """ada: alice took her call in support; bruno: bob took his in sales-it; carlo: bob took his in support;
    dora: nobody dealt with her; dino: none of his own, but elio (alice's caller, in sales-it) was merged into him."""
    async with store.session() as s:
        acme = await s.scalar(select(m.Tenant.id).where(m.Tenant.name == "acme"))
        ids = dict((await s.execute(select(m.Agent.name, m.Agent.id).where(m.Agent.tenant_id == acme))).all())
        ids |= dict((await s.execute(select(m.Queue.name, m.Queue.id).where(m.Queue.tenant_id == acme))).all())
        contacts = {}
        for i, name in enumerate(("ada", "bruno", "carlo", "dora", "dino", "elio")):
            contact = m.Contact(tenant_id=acme, display_name=name.title())
            s.add(contact)
            await s.flush()
            s.add(m.ContactPhone(tenant_id=acme, contact_id=contact.id, number=f"+3902555000{i}"))
            contacts[name] = contact.id
        for name, queue, agent in (
            ("ada", "support", "alice"), ("bruno", "sales-it", "bob"), ("carlo", "support", "bob"),
            ("elio", "sales-it", None),
        ):  # fmt: skip
            at = NOW - timedelta(hours=1)
            s.add(
                m.Interaction(
                    tenant_id=acme, channel="voice", queue_id=ids[queue], agent_id=ids[agent] if agent else None,
                    contact_id=contacts[name], offered_at=at, answered_at=at if agent else None, ended_at=at,
                )
            )  # fmt: skip
        elio = await s.get(m.Contact, contacts["elio"])
        assert elio is not None
        elio.merged_into_id = contacts["dino"]
        await s.commit()
        return contacts


async def test_a_scoped_supervisor_sees_only_the_contacts_their_groups_dealt_with(
    world: Store,  # noqa: F811
    login: Login,  # noqa: F811
) -> None:
    await _scoped_supervisor(world)
    ids = await _contacts_dealt_with(world)
    sam, sara, al = await login("sam"), await login("sara"), await login("al")

    status, listed = await get(sam, CONTACTS)
    assert status == 200 and [c["name"] for c in listed] == ["Ada", "Bruno", "Dino"]
    for client in (sara, al):  # the unscoped supervisor and an agent: the whole address book
        assert [c["name"] for c in (await get(client, CONTACTS))[1]] == ["Ada", "Bruno", "Carlo", "Dora", "Dino"]

    for ref in (ids["ada"], "+39025550001", ids["elio"]):  # an id, a phone, a merged duplicate's id
        assert (await get(sam, f"{CONTACTS}/{ref}"))[0] == 200
        assert (await get(sam, f"{CONTACTS}/{ref}/journey"))[0] == 200
        assert (await get(sam, f"{CONTACTS}/{ref}/pop"))[0] == 200
    assert (await get(sam, f"{CONTACTS}/{ids['elio']}"))[1]["name"] == "Dino"
    for ref in (ids["carlo"], ids["dora"], "+39025550002", "+39029999999"):  # not theirs, or no contact at all
        for path in ("", "/journey", "/pop"):
            status, body = await get(sam, f"{CONTACTS}/{ref}{path}")
            assert status == 404 and "no contact" in body["error"], (ref, path)
        assert (await get(sara, f"{CONTACTS}/{ref}/journey"))[0] == (404 if ref == "+39029999999" else 200)

    changed = await sam.patch(f"{CONTACTS}/{ids['bruno']}", json={"company": "Rossi Srl"})
    assert changed.status == 200 and (await changed.json())["company"] == "Rossi Srl"
    assert (await sam.patch(f"{CONTACTS}/{ids['carlo']}", json={"company": "X"})).status == 404
    assert (await sam.delete(f"{CONTACTS}/{ids['dora']}")).status == 404
    added = await sam.post(CONTACTS, json={"name": "Nuovo", "phone": "+390255512345"})
    assert added.status == 403 and "not new ones" in (await added.json())["error"]
    imported = await sam.post(
        f"{CONTACTS}/import", data=b"name,phone\nNuovo,+390255512345\n", headers={"Content-Type": "text/csv"}
    )
    assert imported.status == 403
    async with world.session() as s:
        names = (await s.execute(select(m.Contact.display_name).order_by(m.Contact.id))).scalars().all()
        company = await s.scalar(select(m.Contact.company).where(m.Contact.id == ids["carlo"]))
    assert names == ["Ada", "Bruno", "Carlo", "Dora", "Dino", "Elio"] and company == ""  # nothing else changed
    assert (await sam.delete(f"{CONTACTS}/{ids['ada']}")).status == 200  # one of theirs
