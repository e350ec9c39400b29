"""Preview campaigns over HTTP on SQLite and PostgreSQL: the record and script shown to the agent, dialled through
the click-to-call path or skipped with a reason (stored on the record, the reason's retry rule applied)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.test_web_agent_calls import login, with_route  # noqa: F401  (the login fixture)
from tests.web_clients import Login
from tests.web_world import NOW
from tvoxcc.agentcalls.model import Origin, Phase
from tvoxcc.campaigns import store as cs
from tvoxcc.campaigns.contact_list import ListedRecord
from tvoxcc.campaigns.model import CampaignStatus, DialMode, RetryRules
from tvoxcc.campaigns.spec import CampaignSettings, parse_window
from tvoxcc.scripts import store as ss
from tvoxcc.scripts.source import parse_script
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

WINBACK = Path(__file__).parent / "data" / "scripts" / "winback.yaml"
NUMBERS = ["+390255590001", "+390255590002", "+390255590003", "+390255590004"]


async def preview_campaign(store: Store, window: str = "mon-sun 00:00-24:00") -> None:
    await with_route(store)
    settings = CampaignSettings(
        window=parse_window(window), retry=RetryRules(max_attempts=3, dispositions={"call-later": 3600.0})
    )
    draft = cs.CampaignDraft(mode=DialMode.PREVIEW, settings=settings, queues=("sales-it",))
    await cs.save_campaign(store, "acme", "pv", draft, new=True)
    listed = [ListedRecord(n, {"name": f"Cliente {i}", "plan": "gold"}, f"l.csv:{i}") for i, n in enumerate(NUMBERS)]
    await cs.import_records(store, "acme", "pv", listed, NOW - timedelta(minutes=1))
    await cs.set_status(store, "acme", "pv", CampaignStatus.RUNNING, actor="test")
    script = parse_script(WINBACK.read_text(), "w.yaml")
    await ss.save_script(store, "acme", script, "", campaign="pv", queue=None, replace=False)


async def records(store: Store) -> dict[str, Any]:
    async with store.session() as session:
        return {r.number: r for r in (await session.execute(select(m.CampaignRecord))).scalars()}


async def test_the_agent_sees_the_record_and_script_then_dials_it_as_a_click_to_call(
    store: Store,
    login: Login,  # noqa: F811
) -> None:
    await preview_campaign(store)
    al = await login("al")
    first = (await (await al.get("/api/agent/preview")).json())["offer"]
    assert (first["campaign"], first["number"], first["attempts"], first["script"]) == ("pv", NUMBERS[0], 0, "winback")
    assert first["fields"] == {"name": "Cliente 0", "plan": "gold"}
    assert first["spec"]["start"] == "greet"
    again = (await (await al.get("/api/agent/preview")).json())["offer"]
    assert again["record"] == first["record"]  # shown until dialled or skipped
    assert (await (await login("cy")).get("/api/agent/preview")).status == 200
    assert (await (await (await login("cy")).get("/api/agent/preview")).json())["offer"] is None  # another tenant

    dialled = await al.post("/api/agent/preview/dial", json={"record": first["record"]})
    assert dialled.status == 202, await dialled.text()
    call_id = (await dialled.json())["call"]
    async with store.session() as session:
        call = await session.get(m.AgentCall, call_id)
        (attempt,) = (await session.execute(select(m.CampaignAttempt))).scalars().all()
    assert call is not None and (call.number, call.origin, call.phase) == (NUMBERS[0], Origin.DESKTOP, Phase.REQUESTED)
    assert (attempt.number, attempt.agent) == (NUMBERS[0], "acme-alice")
    row = (await records(store))[NUMBERS[0]]
    assert (row.state, row.attempts, row.preview_agent_id) == ("dialing", 1, None)  # till the call ends
    followed = await (await al.get(f"/api/agent/calls/{call_id}")).json()  # the click-to-call's own follow-up
    assert followed["phase"] == "requested"
    again = await al.post("/api/agent/preview/dial", json={"record": first["record"]})
    assert again.status == 409  # not shown to anyone any more
    following = (await (await al.get("/api/agent/preview")).json())["offer"]
    assert following["number"] == NUMBERS[1]


async def test_a_skip_stores_its_reason_and_its_retry_rule_applies(
    store: Store,
    login: Login,  # noqa: F811
) -> None:
    await preview_campaign(store)
    al = await login("al")
    shown = (await (await al.get("/api/agent/preview")).json())["offer"]
    empty = await al.post("/api/agent/preview/skip", json={"record": shown["record"], "reason": "  "})
    assert empty.status == 400
    later = await al.post("/api/agent/preview/skip", json={"record": shown["record"], "reason": "call-later"})
    assert await later.json() == {"record": shown["record"], "state": "pending"}
    shown = (await (await al.get("/api/agent/preview")).json())["offer"]
    assert shown["number"] == NUMBERS[1]  # the skipped one is due again in an hour, not now
    final = await al.post("/api/agent/preview/skip", json={"record": shown["record"], "reason": "wrong person"})
    assert (await final.json())["state"] == "done"
    rows = await records(store)
    assert (rows[NUMBERS[0]].state, rows[NUMBERS[0]].skip_reason, rows[NUMBERS[0]].attempts) == (
        "pending", "call-later", 0,
    )  # fmt: skip
    assert rows[NUMBERS[0]].next_at == NOW + timedelta(hours=1)
    assert (rows[NUMBERS[1]].state, rows[NUMBERS[1]].skip_reason) == ("done", "wrong person")

    shown = (await (await al.get("/api/agent/preview")).json())["offer"]
    assert shown["number"] == NUMBERS[2]
    await cs.add_do_not_call(store, "acme", [NUMBERS[2], NUMBERS[3]], "asked")  # listed after it was shown
    refused = await al.post("/api/agent/preview/dial", json={"record": shown["record"]})
    assert refused.status == 403
    assert (await al.get("/api/agent/preview")).status == 200
    rows = await records(store)
    assert (rows[NUMBERS[2]].state, rows[NUMBERS[3]].state) == ("do-not-call", "do-not-call")  # never shown
    assert await (await al.get("/api/agent/preview")).json() == {"offer": None}
    bad = await al.post("/api/agent/preview/skip", json={"record": "x", "reason": "r"})
    assert bad.status == 400


async def test_nothing_is_shown_outside_the_called_partys_window(
    store: Store,
    login: Login,  # noqa: F811
) -> None:
    await preview_campaign(store, window="mon-sun 20:00-21:00")  # NOW is 11:00 in Rome
    al = await login("al")
    assert await (await al.get("/api/agent/preview")).json() == {"offer": None}
    assert {r.state for r in (await records(store)).values()} == {"pending"}
