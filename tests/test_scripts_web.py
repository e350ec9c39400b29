"""Call scripts in the store, the CLI and the web API (SQLite and PostgreSQL): one per campaign or queue, read by
API, shown for the agent's current item, answers checked along the script and stored with the interaction, in
the contact's export and gone with an erase."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.cli import Tvox
from tests.web_clients import WEB_SETTINGS, Login, logins
from tests.web_world import Clock, seed
from tvoxcc.admin.errors import AdminError
from tvoxcc.journey.privacy_store import gather, person_of
from tvoxcc.scripts import store as ss
from tvoxcc.scripts.source import parse_script
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.web.app import build_app

WINBACK = Path(__file__).parent / "data" / "scripts" / "winback.yaml"


@pytest.fixture
async def login(store: Store) -> AsyncIterator[Login]:
    await seed(store)
    async with logins(lambda: build_app(store, WEB_SETTINGS, clock=Clock())) as login:
        yield login


async def on_a_call(store: Store) -> int:
    """alice on a call of sales-it (the ACD's row and the interaction, as the voice service leaves them),
    from a known contact; returns the interaction."""
    async with store.session() as session:
        tenant = await session.scalar(select(m.Tenant.id).where(m.Tenant.name == "acme"))
        alice = await session.scalar(select(m.Agent.id).where(m.Agent.name == "alice"))
        assert tenant is not None and alice is not None
        contact = m.Contact(tenant_id=tenant, display_name="Carla Bianchi")
        session.add(contact)
        await session.flush()
        session.add(m.ContactPhone(tenant_id=tenant, contact_id=contact.id, number="+390212345678"))
        call = m.Interaction(
            tenant_id=tenant, channel="voice", external_id="chan-script-1", agent_id=alice, contact_id=contact.id,
            from_address="+390212345678",
        )  # fmt: skip
        session.add(call)
        session.add(
            m.AcdItem(
                item_id="chan-script-1", tenant_id=tenant, queue="acme/sales-it", channel="voice",
                status="connected", arrived_at=0.0, queued_at=0.0, agent="acme-alice",
            )
        )  # fmt: skip
        await session.commit()
        return call.id


async def test_scripts_are_read_shown_for_the_call_and_answered(store: Store, login: Login) -> None:
    await ss.save_script(store, "acme", parse_script(WINBACK.read_text(), "w.yaml"), "", campaign=None,
                         queue="sales-it", replace=False)  # fmt: skip
    interaction = await on_a_call(store)
    al = await login("al")
    listed = await (await al.get("/api/tenants/acme/scripts")).json()
    assert listed == [{"name": "winback", "title": "Win-back offer", "campaign": None, "queue": "sales-it",
                       "steps": 4}]  # fmt: skip
    shown = await (await al.get("/api/tenants/acme/scripts/winback")).json()
    assert shown["spec"]["steps"]["offer"]["fields"][0]["options"] == ["basic", "plus"]
    assert (await al.get("/api/tenants/acme/scripts/nope")).status == 404
    assert (await (await login("cy")).get("/api/tenants/acme/scripts")).status == 404  # another tenant's user

    (current,) = await (await al.get("/api/agent/script")).json()
    assert (current["item"], current["queue"], current["interaction"], current["script"]) == (
        "chan-script-1", "sales-it", interaction, "winback",
    )  # fmt: skip
    assert await (await (await login("cy")).get("/api/agent/script")).json() == []  # nothing offered to carol

    bad = await al.post("/api/agent/script", json={"interaction": interaction, "script": "winback",
                                                    "answers": {"interested": "yes", "plan": "gold"}})  # fmt: skip
    assert bad.status == 422
    assert (await bad.json())["problems"] == [{"field": "plan", "problem": "one of basic, plus"}]
    good = await al.post("/api/agent/script", json={"interaction": interaction, "script": "winback",
                                                     "answers": {"interested": True, "plan": "plus"}})  # fmt: skip
    assert good.status == 200, await good.text()
    assert await good.json() == {"interaction": interaction, "script": "winback", "path": ["greet", "offer", "bye"],
                                 "answers": {"interested": "yes", "plan": "plus"}}  # fmt: skip
    (current,) = await (await al.get("/api/agent/script")).json()
    assert current["answers"] == {"interested": "yes", "plan": "plus"}  # a reload shows what was saved
    other = await al.post("/api/agent/script", json={"interaction": interaction, "script": "winback"},
                          headers={"Origin": "https://evil.example"})  # fmt: skip
    assert other.status == 403

    async with store.session() as session:
        tenant = await session.scalar(select(m.Tenant.id).where(m.Tenant.name == "acme"))
    assert tenant is not None
    async with store.tenant(tenant) as session:
        person = await gather(session, await person_of(session, "+390212345678"))
    (answer,) = person.tables()["script_answers"]
    assert (answer.interaction_id, answer.answers, answer.path) == (
        interaction, {"interested": "yes", "plan": "plus"}, ["greet", "offer", "bye"],
    )  # fmt: skip


async def test_one_script_per_campaign_or_queue(store: Store, login: Login) -> None:
    await login(None)  # seeds the world
    script = parse_script(WINBACK.read_text(), "w.yaml")
    await ss.save_script(store, "acme", script, "", campaign=None, queue="sales-it", replace=False)
    other = parse_script(WINBACK.read_text().replace("name: winback", "name: second"), "w.yaml")
    with pytest.raises(AdminError, match="queue 'sales-it' already has script 'winback'"):
        await ss.save_script(store, "acme", other, "", campaign=None, queue="sales-it", replace=False)
    with pytest.raises(AdminError, match="one campaign"):
        await ss.save_script(store, "acme", other, "", campaign=None, queue=None, replace=False)
    assert [v.name for v in await ss.list_scripts(store, "beta")] == []  # per tenant
    assert await ss.remove_script(store, "acme", "winback") == 0


def test_the_cli_adds_shows_lists_and_removes(tvox_any: Tvox, tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        "tenant: {name: acme, country: IT}\nservices: [{name: sales, channels: [voice]}]\n"
        "queues: [{name: sales-it, service: sales}]\n"
    )
    tvox_any.ok("import", str(tmp_path / "t.yaml"))
    assert "saved for queue 'sales-it' (4 steps)" in tvox_any.ok("script", "add", "-t", "acme", str(WINBACK),
                                                                  "--queue", "sales-it")  # fmt: skip
    assert json.loads(tvox_any.ok("script", "list", "-t", "acme", "--json")) == [
        {"name": "winback", "title": "Win-back offer", "campaign": None, "queue": "sales-it", "steps": 4}
    ]
    shown = tvox_any.ok("script", "show", "-t", "acme", "winback")
    assert "interested = yes → offer" in shown and "plan [choice (basic/plus)] *: Plan" in shown
    assert json.loads(tvox_any.ok("script", "show", "-t", "acme", "winback", "--json"))["spec"]["start"] == "greet"
    (tmp_path / "bad.yaml").write_text("name: s\nstart: a\nsteps:\n  a: {next: b}\n")
    error = tvox_any.fails("script", "add", "-t", "acme", str(tmp_path / "bad.yaml"), "--queue", "sales-it")
    assert error.strip() == f"error: {tmp_path / 'bad.yaml'}:4: steps.a.next: unknown step 'b'"
    assert "unknown campaign 'nope'" in tvox_any.fails(
        "script", "add", "-t", "acme", str(WINBACK), "--campaign", "nope"
    )
    assert "exists" in tvox_any.fails("script", "add", "-t", "acme", str(WINBACK), "--queue", "sales-it")
    assert "removed" in tvox_any.ok("script", "remove", "-t", "acme", "winback")
    assert "no script 'winback'" in tvox_any.fails("script", "show", "-t", "acme", "winback")
