"""The desktop's disposition endpoints over real HTTP on SQLite and PostgreSQL: the picker's codes, a
disposition set on the agent's last call, an unknown code refused with 400, nobody else's."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from tests.test_web_listen import Client, Login, login  # noqa: F401  (fixture)
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


async def _codes(store: Store) -> None:
    async with store.session() as s:
        acme = await s.scalar(select(m.Tenant.id).where(m.Tenant.name == "acme"))
        s.add_all(
            [
                m.ActivityCode(tenant_id=acme, code="90", name="sale", kind="disposition"),
                m.ActivityCode(tenant_id=acme, code="1", name="lunch", kind="pause"),
            ]
        )
        await s.commit()


async def _post(client: Client, body: Any, **headers: str) -> tuple[int, Any]:
    response = await client.post("/agent/disposition", json=body, headers=headers)
    return response.status, json.loads(await response.text())


async def test_the_desktop_sets_the_disposition_of_the_agents_last_call(store: Store, login: Login) -> None:  # noqa: F811
    await _codes(store)
    al, sara = await login("al"), await login("sara")
    picker = await al.get("/agent/dispositions")
    assert picker.status == 200 and (await picker.json()) == {"codes": [{"code": "90", "name": "sale"}]}

    status, body = await _post(al, {"code": "1"})  # a pause code
    assert (status, body["reason"]) == (400, "unknown-code")
    status, body = await _post(al, {"code": "90"})
    assert status == 200 and (body["name"], body["target"], body["record_state"]) == ("sale", "interaction", None)
    async with store.session() as s:
        coded = (
            await s.execute(
                select(m.Interaction.id, m.Agent.name, m.ActivityCode.name)
                .join(m.Agent, m.Agent.id == m.Interaction.agent_id)
                .join(m.ActivityCode, m.ActivityCode.id == m.Interaction.activity_code_id)
            )
        ).all()
    assert coded == [(body["id"], "alice", "sale")]  # alice's answered call, and no other

    assert (await _post(sara, {"code": "90"}))[0] == 403  # no agent linked: no desktop
    assert (await _post(al, {"code": "90"}, Origin="http://evil.example"))[0] == 403
    assert (await (await login(None)).post("/agent/disposition", json={"code": "90"})).status == 401
