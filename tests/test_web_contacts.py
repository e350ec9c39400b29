"""The address book in the web API on SQLite and PostgreSQL: every user of the tenant reads, admins and the
tenant's supervisors write, other tenants see nothing; refusals list every problem; imports are all or nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from tests.test_web_api import Client, Login, get, login, world  # noqa: F401  (test_web_api's fixtures)
from tvoxcc import audit
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


@pytest.fixture
def user(login: Login) -> Login:  # noqa: F811  (the imported fixture)
    """A client logged in as a user of web_world (None: nobody)."""
    return login


async def send(client: Client, method: str, path: str, body: Any = None, *, csv: str | None = None) -> tuple[int, Any]:
    if csv is not None:
        response = await client.request(method, path, data=csv.encode(), headers={"Content-Type": "text/csv"})
    else:
        response = await client.request(method, path, json=body)
    text = await response.text()
    return response.status, json.loads(text) if response.content_type == "application/json" else text


CARLA = {"name": "Carla Bianchi", "phone": "02 1234 5678", "emails": ["Carla@Bianchi.it"], "company": "Bianchi Srl",
         "language": "it", "vip": True}  # fmt: skip
BASE = "/api/tenants/acme/contacts"


async def test_roles_read_and_write(user: Login) -> None:
    sara, al, sue, bea = [await user(u) for u in ("sara", "al", "sue", "bea")]
    assert (await send(await user(None), "POST", BASE, CARLA))[0] == 401
    for client in (al, sue):  # an agent and a support user of acme: read only
        status, body = await send(client, "POST", BASE, CARLA)
        assert status == 403 and "admin or a supervisor" in body["error"]
    assert (await send(bea, "POST", BASE, CARLA))[0] == 404  # beta's supervisor: acme does not exist
    status, carla = await send(sara, "POST", BASE, CARLA)
    assert status == 201, carla
    assert (carla["phones"], carla["emails"], carla["vip"]) == (["+390212345678"], ["carla@bianchi.it"], True)
    for client in (al, sue, await user("root")):
        status, found = await get(client, f"{BASE}/0212345678")
        assert status == 200 and found["id"] == carla["id"]
        status, listed = await get(client, BASE)
        assert status == 200 and [c["name"] for c in listed] == ["Carla Bianchi"]
    assert (await get(bea, BASE))[0] == 404 and (await get(await user("cy"), f"{BASE}/{carla['id']}"))[0] == 404
    for method, body in (("PATCH", {"vip": False}), ("DELETE", None)):
        assert (await send(al, method, f"{BASE}/{carla['id']}", body))[0] == 403
    status, changed = await send(
        sara, "PATCH", f"{BASE}/carla@bianchi.it", {"add_phones": ["333 123 4567"], "vip": False}
    )
    assert status == 200 and changed["phones"] == ["+390212345678", "+393331234567"] and changed["vip"] is False
    status, removed = await send(sara, "DELETE", f"{BASE}/{carla['id']}")
    assert status == 200 and removed["contacts"] == 1
    assert (await get(sara, f"{BASE}/{carla['id']}"))[0] == 404


async def test_refusals_name_every_problem(user: Login) -> None:
    sara = await user("sara")
    assert (await send(sara, "POST", BASE, CARLA))[0] == 201
    status, body = await send(sara, "POST", BASE, {"name": "Other", "phones": ["+39 02 1234 5678", "12"], "vip": "x"})
    assert status == 400 and body["error"] == "vip must be true or false"
    status, body = await send(sara, "POST", BASE, {"name": "Other", "phones": ["+39 02 1234 5678", "12"]})
    assert status == 400 and body["problems"] == ["phone '12' is not a phone number (country IT)"]
    status, body = await send(sara, "POST", BASE, {"name": "Other", "phones": ["+39 02 1234 5678"]})
    assert status == 400 and body["problems"] == ["+390212345678 already belongs to contact 1"]
    status, body = await send(sara, "PATCH", f"{BASE}/1", {"drop_emails": ["nobody@x.it"], "colour": "red"})
    assert status == 400 and body["error"] == "unknown field 'colour'"
    status, body = await send(sara, "PATCH", f"{BASE}/1", {"drop_emails": ["nobody@x.it"]})
    assert status == 400 and body["problems"] == ["contact 1 has no e-mail nobody@x.it"]
    assert (await send(sara, "PATCH", f"{BASE}/nobody@x.it", {"vip": True}))[0] == 404
    response = await sara.post(BASE, json=CARLA, headers={"Origin": "https://evil.example"})
    assert response.status == 403


async def test_import_is_all_or_nothing(user: Login) -> None:
    sara = await user("sara")
    bad = "name,phone,email,vip\nAnna,0298765432,anna@x.it,yes\nBob,12,,maybe\nCarl,02 98765432,,\n"
    status, body = await send(sara, "POST", f"{BASE}/import", csv=bad)
    assert status == 400
    assert body["problems"] == [
        "csv:3: phone '12' is not a phone number (country IT); vip 'maybe' is not yes or no",
        "csv:4: +390298765432 is also on line 2",
    ]
    assert (await get(sara, BASE))[1] == []  # nothing stored
    good = 'name,phone,email,vip,notes\nAnna,0298765432,anna@x.it,yes,"line one\nline two"\nBob,0311111111,,no,\n'
    assert await send(sara, "POST", f"{BASE}/import", csv=good) == (200, {"added": 2})
    listed = (await get(sara, BASE))[1]
    assert [(c["name"], c["vip"], c["notes"]) for c in listed] == [
        ("Anna", True, "line one\nline two"),
        ("Bob", False, ""),
    ]
    assert (await send(await user("al"), "POST", f"{BASE}/import", csv=good))[0] == 403


async def test_changes_are_audited_in_their_transaction(world: Store, user: Login) -> None:  # noqa: F811
    sara = await user("sara")
    status, carla = await send(sara, "POST", BASE, CARLA)
    assert status == 201
    assert (await send(sara, "PATCH", f"{BASE}/{carla['id']}", {"add_phones": ["333 123 4567"], "vip": False}))[
        0
    ] == 200
    assert (await send(sara, "POST", BASE, {"name": "Other", "phones": ["12"]}))[0] == 400  # refused: no row
    good = "name,phone\nAnna,0298765432\nBob,0311111111\n"
    assert await send(sara, "POST", f"{BASE}/import", csv=good) == (200, {"added": 2})
    assert (await send(sara, "DELETE", f"{BASE}/{carla['id']}"))[0] == 200
    async with world.session() as session:
        rows = [r for r in await audit.entries(session) if r["action"].startswith("contact.")]
        assert (await audit.verify(session))[1] is None
        imported = (await session.execute(select(m.Contact.id).where(m.Contact.display_name != ""))).scalars().all()
    got = [(r["action"], r["actor"], r["tenant"], r["subject"], r["detail"]) for r in rows]
    cid = carla["id"]
    removed = {"interactions": 0, "tickets": 0, "callbacks": 0, "contacts": 1}
    assert got == [
        ("contact.add", "web:sara", "acme", f"added contact {cid}", {"id": cid}),
        ("contact.change", "web:sara", "acme", f"changed contact {cid}", {"id": cid, "fields": ["vip", "add_phones"]}),
        ("contact.import", "web:sara", "acme", "imported 2 contacts", {"ids": sorted(imported)}),
        ("contact.remove", "web:sara", "acme", f"removed contact {cid}", {"id": cid, **removed}),
    ]
    logged = json.dumps(rows, default=str)
    # whole numbers only: a short digit run like "333" turns up by chance in a row hash or a timestamp
    assert all(secret not in logged for secret in ("Carla", "Anna", "0212345678", "bianchi.it", "3331234567"))
