"""Agents dialling out on the real lab: 9 + a number from an agent's sipp phone goes through the rendered
dialplan into the voice service, which dials the customer (a sipp phone behind the tenant's trunk) through the
outbound route and bridges them; the ACD holds the agent meanwhile, so an inbound call waiting in the agent's
queue is offered to them only once their own call ended. A desktop click-to-call (the web API's row) rings the
agent's phone first. Refused numbers are a message and a hang-up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import select

from tests.cli import Tvox
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_voice_acd import Clock, online
from tests.e2e.voice import running_voice
from tvoxcc.admin.passwords import hash_password
from tvoxcc.agentcalls.hold import OUTBOUND_PAUSE
from tvoxcc.asterisk.inputs import AgentPhone, Did, RenderInput, Trunk
from tvoxcc.config import WebSettings
from tvoxcc.lab.sipp import Sipp, SippAgent, caller_scenario, free_udp_port
from tvoxcc.queues import model as q
from tvoxcc.queues.views import ItemView
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.app import VoiceApp
from tvoxcc.web.app import build_app

pytestmark = pytest.mark.asterisk

CUSTOMER_PORT = free_udp_port()
DID = "5559001"
CUSTOMER = "2125559777"
LISTED = "2125559666"  # on the tenant's do-not-call list (as +12125559666)
BUSY_RECORD = "2125559555"  # a preview campaign's record whose line is busy
TENANT = f"""\
tenant: {{name: dialy, timezone: UTC, country: US, language: en}}
services:
  - {{name: sales, channels: [voice], dids: ["{DID}"]}}
queues:
  - {{name: dial-q, service: sales, strategy: longest-idle, wrapup_seconds: 1, ring_timeout_seconds: 10,
     record: true}}
agents:
  - {{name: ugo, extension: "951", queues: [dial-q]}}
ivrs:
  - service: sales
    start: queue
    nodes:
      queue: {{type: queue, queue: dial-q}}
outbound:
  endpoint: "PJSIP/{{number}}@dialy-pstn"
  caller_id: "5559000"
  trunk: {{name: dialy-pstn, host: 127.0.0.1, port: {CUSTOMER_PORT}}}
  ring_seconds: 15
"""
WEB_PASSWORD = "dial me out please"
UGO = AgentPhone("dialy", "ugo", "951", PASSWORD, "Ugo Dialy")


@pytest.fixture(scope="module")
def dialy(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("dialout")
    (folder / "dialy.yaml").write_text(TENANT)
    tvox = Tvox(lab.config_path)
    tvox.ok("import", str(folder / "dialy.yaml"))
    tvox.ok("campaign", "dnc", "add", "-t", "dialy", LISTED)
    default = lab.render_input()
    lab.reload(
        RenderInput.from_settings(
            lab.settings,
            (*lab.agents, UGO),
            (*lab.dids, Did(DID, "dialy", "sales")),
            trunks=(Trunk("dialy", "dialy-pstn", "127.0.0.1", CUSTOMER_PORT),),
        )
    )
    try:
        yield lab
    finally:
        lab.reload(default)


@pytest.fixture
def ugo(dialy: Any, sipp: Sipp) -> Iterator[SippAgent]:
    phone = SippAgent(sipp, UGO.endpoint, PASSWORD)
    yield phone
    sipp.cleanup()
    phone.unregister().check()


async def agent_calls(settings: Any) -> list[m.AgentCall]:
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        rows = (await session.execute(select(m.AgentCall).order_by(m.AgentCall.id))).scalars().all()
    await store.dispose()
    return list(rows)


async def call_in_phase(settings: Any, known: int, phase: str, within: float) -> m.AgentCall:
    deadline = time.monotonic() + within
    while True:
        rows = (await agent_calls(settings))[known:]
        if rows and rows[-1].phase == phase:
            return rows[-1]
        assert time.monotonic() < deadline, f"no agent call in phase {phase}: {[(r.phase, r.refused) for r in rows]}"
        await asyncio.sleep(0.2)


async def interaction(settings: Any, interaction_id: int) -> tuple[m.Interaction, list[str]]:
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        row = await session.get(m.Interaction, interaction_id)
        kinds = (
            await session.execute(
                select(m.InteractionEvent.kind).where(m.InteractionEvent.interaction_id == interaction_id)
            )
        ).scalars().all()  # fmt: skip
    await store.dispose()
    assert row is not None
    return row, list(kinds)


async def recording_of(settings: Any, interaction_id: int, within: float) -> m.Recording:
    deadline = time.monotonic() + within
    while True:
        store = Store.from_url(settings.database.url.get_secret_value())
        async with store.session() as session:
            found = await session.scalar(select(m.Recording).where(m.Recording.interaction_id == interaction_id))
        await store.dispose()
        if found is not None:
            return found
        assert time.monotonic() < deadline, "the agent's call was not recorded into the repository"
        await asyncio.sleep(0.3)


def waiting_items(app: VoiceApp, queue: str) -> list[ItemView]:
    view = app.handoff.service.view()  # type: ignore[attr-defined]
    return [item for item in view.items.values() if item.queue == queue]


async def test_an_agent_dials_out_and_the_acd_offers_them_nothing_meanwhile(
    dialy: Any, sipp: Sipp, ugo: SippAgent
) -> None:
    settings = dialy.settings
    known = len(await agent_calls(settings))
    async with running_voice(settings, Clock(datetime.now(UTC))) as app:
        acd = app.handoff.service  # type: ignore[attr-defined]
        await asyncio.to_thread(ugo.register().check)
        await online(dialy, UGO.endpoint)
        customer = sipp.answer("customer", port=CUSTOMER_PORT, ring_ms=300, bye_timeout_ms=60000)
        await asyncio.sleep(0.3)
        dialling = sipp.dial_playing(UGO.endpoint, PASSWORD, f"9{CUSTOMER}", listen_ms=60000)
        talking = await call_in_phase(settings, known, "talking", 20)
        assert acd.agent_state(UGO.endpoint) == (q.AgentStatus.PAUSED, OUTBOUND_PAUSE)

        # An inbound call for ugo's queue: the ACD must not offer it to him while he is on his own call.
        answering = ugo.answer(ring_ms=200)  # his phone would answer an offer at once
        caller = sipp.start(
            caller_scenario(DID, "", wait_ms=500, hold_ms=30000, hangup="us", bye_timeout_ms=60000), service=DID
        )
        deadline = time.monotonic() + 15
        while not waiting_items(app, "dialy/dial-q"):
            assert time.monotonic() < deadline, "the inbound call never queued"
            await asyncio.sleep(0.2)
        await asyncio.sleep(3.0)  # longer than an offer takes to ring a free agent
        (item,) = waiting_items(app, "dialy/dial-q")
        assert (item.status, item.offered_to) == (q.ItemStatus.WAITING, ())

        # The customer hangs up: the outbound call ends, ugo is given back and offered the waiting call.
        assert talking.interaction_id is not None
        outbound, _ = await interaction(settings, talking.interaction_id)
        dialy.ari(f"channels/{outbound.external_id}", "DELETE")
        (await asyncio.to_thread(customer.wait, 20)).check()
        (await asyncio.to_thread(dialling.wait, 20)).check()
        recording = await recording_of(settings, talking.interaction_id, within=15)  # stored as the call ended
        deadline = time.monotonic() + 20
        while acd.agent_state(UGO.endpoint)[0] is not q.AgentStatus.BUSY:
            assert time.monotonic() < deadline, f"ugo never took the waiting call: {acd.agent_state(UGO.endpoint)}"
            await asyncio.sleep(0.2)
        for channel in dialy.channels():
            if channel["name"].startswith(f"PJSIP/{UGO.endpoint}"):
                dialy.ari(f"channels/{channel['id']}", "DELETE")
        (await asyncio.to_thread(answering.wait, 20)).check()
        caller.process.kill()

    row, kinds = await interaction(settings, talking.interaction_id)
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        agent_id = (await session.execute(select(m.Agent.id).where(m.Agent.name == "ugo"))).scalar_one()
    await store.dispose()
    assert (row.direction, row.agent_id, row.to_address, row.from_address) == (
        "outbound",
        agent_id,
        CUSTOMER,
        "5559000",
    )
    assert row.outcome == "answered" and row.answered_at is not None and row.ended_at is not None
    assert row.ended_at > row.answered_at
    assert kinds == ["dialing", "ended"]
    (ended,) = [r for r in await agent_calls(settings) if r.id == talking.id]
    assert (ended.phase, ended.origin, ended.number) == ("ended", "phone", CUSTOMER)
    # ugo's queue records its calls: his own call is recorded too, into the repository, as an outbound one
    assert row.recording == f"tvoxcc-agent-call-{talking.id}"
    assert (recording.direction, recording.agent_id, recording.number) == ("outbound", agent_id, CUSTOMER)
    assert recording.duration_s > 0


async def test_refused_numbers_are_a_message_and_a_hang_up(dialy: Any, ugo: SippAgent, tmp_path: Path) -> None:
    settings = dialy.settings
    known = len(await agent_calls(settings))
    async with running_voice(settings, Clock(datetime.now(UTC))):
        await asyncio.to_thread(ugo.register().check)
        await online(dialy, UGO.endpoint)
        for dialled in ("9", f"9{LISTED}", "912"):
            (await asyncio.to_thread(ugo.dial, dialled, 20000)).check()  # answered, the message, then the BYE
    rows = (await agent_calls(settings))[known:]
    assert [(r.phase, r.refused, r.interaction_id) for r in rows] == [
        ("refused", "empty-number", None),
        ("refused", "do-not-call", None),
        ("refused", "invalid-number", None),
    ]


async def desk_user(settings: Any) -> None:
    """A web user working as ugo (click-to-call rings their own phone)."""
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        tenant, agent = (
            await session.execute(
                select(m.Tenant.id, m.Agent.id).join(m.Agent, m.Agent.tenant_id == m.Tenant.id)
                .where(m.Tenant.name == "dialy", m.Agent.name == "ugo")
            )
        ).one()  # fmt: skip
        if await session.scalar(select(m.User.id).where(m.User.username == "ugo-desk")) is None:
            session.add(
                m.User(
                    username="ugo-desk", role="agent", password_hash=hash_password(WEB_PASSWORD),
                    tenant_id=tenant, agent_id=agent,
                )
            )  # fmt: skip
            await session.commit()
    await store.dispose()


async def test_click_to_call_rings_the_agent_first_then_bridges_the_customer(
    dialy: Any, sipp: Sipp, ugo: SippAgent
) -> None:
    settings = dialy.settings
    await desk_user(settings)
    known = len(await agent_calls(settings))
    store = Store.from_url(settings.database.url.get_secret_value())
    web_settings = WebSettings(secret=SecretStr("s" * 32), poll_interval=0.05)
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(store, web_settings)))
    await client.start_server()
    try:
        async with running_voice(settings, Clock(datetime.now(UTC))) as app:
            acd = app.handoff.service  # type: ignore[attr-defined]
            await asyncio.to_thread(ugo.register().check)
            await online(dialy, UGO.endpoint)
            answering = ugo.answer(ring_ms=500)  # ugo's phone rings first and answers
            customer = sipp.answer("customer", port=CUSTOMER_PORT, ring_ms=300, bye_timeout_ms=60000)
            await asyncio.sleep(0.3)
            response = await client.post("/login", json={"username": "ugo-desk", "password": WEB_PASSWORD})
            assert response.status == 200
            response = await client.post("/api/agent/calls", json={"number": CUSTOMER})
            assert response.status == 202, await response.text()
            call_id = (await response.json())["call"]
            talking = await call_in_phase(settings, known, "talking", 30)
            assert talking.id == call_id
            followed = await (await client.get(f"/api/agent/calls/{call_id}")).json()
            assert (followed["phase"], followed["origin"]) == ("talking", "desktop")
            assert acd.agent_state(UGO.endpoint) == (q.AgentStatus.PAUSED, OUTBOUND_PAUSE)
            assert talking.interaction_id is not None
            outbound, _ = await interaction(settings, talking.interaction_id)
            dialy.ari(f"channels/{outbound.external_id}", "DELETE")  # the customer hangs up
            (await asyncio.to_thread(customer.wait, 20)).check()
            (await asyncio.to_thread(answering.wait, 20)).check()  # ugo's leg was hung up too
            await call_in_phase(settings, known, "ended", 10)
            assert acd.agent_state(UGO.endpoint)[0] is q.AgentStatus.AVAILABLE  # given back to the ACD
    finally:
        await client.close()
        await store.dispose()
    row, kinds = await interaction(settings, talking.interaction_id)
    assert (row.direction, row.to_address, row.outcome) == ("outbound", CUSTOMER, "answered")
    assert kinds == ["dialing", "ended"]


async def test_an_agent_who_gives_up_before_the_answer_stops_the_customers_phone(
    dialy: Any, sipp: Sipp, ugo: SippAgent
) -> None:
    settings = dialy.settings
    known = len(await agent_calls(settings))
    async with running_voice(settings, Clock(datetime.now(UTC))) as app:
        acd = app.handoff.service  # type: ignore[attr-defined]
        await asyncio.to_thread(ugo.register().check)
        await online(dialy, UGO.endpoint)
        customer = sipp.customer_no_answer(port=CUSTOMER_PORT, cancel_timeout_ms=30000)
        await asyncio.sleep(0.3)
        dialling = sipp.dial_playing(UGO.endpoint, PASSWORD, f"9{CUSTOMER}", listen_ms=30000)
        deadline = time.monotonic() + 15
        while True:  # the customer's phone rings
            rows = (await agent_calls(settings))[known:]
            placed = rows[-1].interaction_id if rows else None
            leg = (await interaction(settings, placed))[0].external_id if placed else None
            if leg and any(c["id"] == leg for c in dialy.channels()):
                break
            assert time.monotonic() < deadline, "the customer was never dialled"
            await asyncio.sleep(0.2)
        assert acd.agent_state(UGO.endpoint) == (q.AgentStatus.PAUSED, OUTBOUND_PAUSE)
        for channel in dialy.channels():  # ugo hangs up while it rings
            if channel["name"].startswith(f"PJSIP/{UGO.endpoint}"):
                dialy.ari(f"channels/{channel['id']}", "DELETE")
        (await asyncio.to_thread(customer.wait, 20)).check()  # its phone got the CANCEL
        await call_in_phase(settings, known, "ended", 10)
        assert acd.agent_state(UGO.endpoint) == (q.AgentStatus.AVAILABLE, None)  # given back at once
        dialling.process.kill()
    assert placed is not None
    row, kinds = await interaction(settings, placed)
    assert (row.direction, row.outcome, row.answered_at) == ("outbound", "no-answer", None)
    assert kinds == ["dialing", "ended"]


async def test_a_preview_record_dialled_busy_comes_back_by_the_retry_rule(
    dialy: Any, sipp: Sipp, ugo: SippAgent, tmp_path: Path
) -> None:
    """The desktop dials a previewed record (a click-to-call: ugo's phone first); the customer's line is busy
    (486, Q.850 17): the record is pending again, due when the campaign's busy rule says, its attempt busy."""
    settings = dialy.settings
    await desk_user(settings)
    tvox = Tvox(dialy.config_path)
    (tmp_path / "preview.csv").write_text(f"number\n{BUSY_RECORD}\n")
    for args in (
        ("add", "-t", "dialy", "pv-busy", "--mode", "preview", "--queue", "dial-q", "--window", "mon-sun 00:00-23:59",
         "--retry", "busy=900", "--max-attempts", "3"),
        ("import-list", "-t", "dialy", "pv-busy", str(tmp_path / "preview.csv")),
        ("start", "-t", "dialy", "pv-busy"),
    ):  # fmt: skip
        await asyncio.to_thread(tvox.ok, "campaign", *args)  # the CLI runs its own event loop
    known = len(await agent_calls(settings))
    store = Store.from_url(settings.database.url.get_secret_value())
    client: TestClient[Any, Any] = TestClient(
        TestServer(build_app(store, WebSettings(secret=SecretStr("s" * 32), poll_interval=0.05)))
    )
    await client.start_server()
    try:
        async with running_voice(settings, Clock(datetime.now(UTC))):
            await asyncio.to_thread(ugo.register().check)
            await online(dialy, UGO.endpoint)
            answering = ugo.answer(ring_ms=300)
            customer = sipp.customer_busy(port=CUSTOMER_PORT)
            await asyncio.sleep(0.3)
            assert (await client.post("/login", json={"username": "ugo-desk", "password": WEB_PASSWORD})).status == 200
            shown = (await (await client.get("/api/agent/preview")).json())["offer"]
            assert (shown["campaign"], shown["number"]) == ("pv-busy", f"+1{BUSY_RECORD}")
            dialled = await client.post("/api/agent/preview/dial", json={"record": shown["record"]})
            assert dialled.status == 202, await dialled.text()
            ended = await call_in_phase(settings, known, "ended", 30)
            (await asyncio.to_thread(customer.wait, 20)).check()
            (await asyncio.to_thread(answering.wait, 20)).check()  # ugo's leg was hung up after the busy line
        async with store.session() as session:
            record = await session.get(m.CampaignRecord, shown["record"])
            attempt = (
                await session.execute(select(m.CampaignAttempt).where(m.CampaignAttempt.record_id == shown["record"]))
            ).scalar_one()
    finally:
        await client.close()
        await store.dispose()
    assert record is not None and ended.ended_at is not None and record.next_at is not None
    assert (record.state, record.attempts, record.last_outcome) == ("pending", 1, "busy")
    assert abs((record.next_at - ended.ended_at).total_seconds() - 900) < 1  # the busy rule: 15 minutes on
    assert (attempt.outcome, attempt.agent_call_id) == ("busy", ended.id)
