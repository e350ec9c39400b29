"""Callbacks and overflow targets on the real lab: a sipp UAS on loopback is the customer's phone on the
"PSTN", reached through the tenant's PJSIP trunk; registered sipp phones are the agents."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.cli import Tvox
from tests.e2e.test_voice_acd import DATA, DID, Clock, connected_leg, online
from tests.e2e.voice import interactions, path_of, running_voice, wait_until_ended
from tvoxcc.asterisk.inputs import RenderInput, Trunk
from tvoxcc.lab.sipp import Sipp, SippAgent, caller_scenario, free_udp_port
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.acd import CALLBACK_LEG

pytestmark = pytest.mark.asterisk

CUSTOMER_PORT = free_udp_port()
OUTBOUND = f"""\
tenant: {{name: acme, timezone: Europe/Rome, country: IT, language: en}}
outbound:
  endpoint: "PJSIP/{{number}}@acme-pstn"
  caller_id: "5551000"
  trunk: {{name: acme-pstn, host: 127.0.0.1, port: {CUSTOMER_PORT}}}
  ring_seconds: 15
"""
# sales-overflow hands its callers back to the IVR's voicemail node after 2 s (instead of another queue).
TO_VOICEMAIL = """\
tenant: {name: acme, timezone: Europe/Rome, country: IT, language: en}
queues:
  - name: sales-overflow
    service: sales
    overflow: [{when: wait, after_seconds: 2, action: ivr, target: leave-message}]
"""
TO_CALLBACK = TO_VOICEMAIL.replace("action: ivr, target: leave-message", "action: callback")
BUSY = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="tvoxcc busy customer">
  <recv request="INVITE"/>
  <send>
    <![CDATA[
      SIP/2.0 486 Busy Here
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK"/>
</scenario>
"""


async def _execute(settings: Any, statement: Any) -> None:
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        await session.execute(statement)
        await session.commit()
    await store.dispose()


@pytest.fixture(scope="module")
def acme(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """acme with an outbound route through a trunk to the customer's sipp port; undone afterwards, so
    other modules' callback requests are never dialled."""
    folder = tmp_path_factory.mktemp("callback")
    tvox = Tvox(lab.config_path)
    tvox.ok("import", str(DATA / "e2e-acme.yaml"))
    tvox.ok("import", str(DATA / "e2e-acme-agents.yaml"))
    tvox.ok("prompts", "render", "-t", "acme")
    (folder / "outbound.yaml").write_text(OUTBOUND)
    tvox.ok("import", str(folder / "outbound.yaml"))
    # Requests left by other modules' IVR tests are not this test's customer.
    asyncio.run(_execute(lab.settings, update(m.Callback).values(status="cancelled")))
    default = lab.render_input()
    lab.reload(
        RenderInput.from_settings(
            lab.settings, lab.agents, lab.dids, trunks=(Trunk("acme", "acme-pstn", "127.0.0.1", CUSTOMER_PORT),)
        )
    )
    try:
        yield lab
    finally:
        asyncio.run(_execute(lab.settings, update(m.Tenant).where(m.Tenant.name == "acme").values(outbound=None)))
        asyncio.run(_execute(lab.settings, update(m.Callback).values(status="cancelled")))
        tvox.ok("import", str(DATA / "e2e-acme.yaml"))
        tvox.ok("import", str(DATA / "e2e-acme-agents.yaml"))
        lab.reload(default)


@pytest.fixture(autouse=True)
def no_old_callbacks(acme: Any) -> None:
    """The ACD takes back every request still held at start: each test begins without any."""
    asyncio.run(_execute(acme.settings, update(m.Callback).values(status="cancelled")))


@pytest.fixture
def alice(acme: Any, sipp: Sipp) -> Iterator[SippAgent]:
    password = next(a.password for a in acme.agents if a.endpoint == "acme-alice")
    phone = SippAgent(sipp, "acme-alice", password)
    yield phone
    sipp.cleanup()
    phone.unregister().check()


async def _callbacks(settings: Any) -> list[m.Callback]:
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        rows = (await session.execute(select(m.Callback).order_by(m.Callback.id))).scalars().all()
    await store.dispose()
    return list(rows)


async def _ask_for_callback(settings: Any, sipp: Sipp) -> m.Callback:
    """A caller picks "call me back" (4) in the IVR and is hung up on after the thank-you: their request."""
    known = {r.id for r in await _callbacks(settings)}
    run = await asyncio.to_thread(sipp.call, DID, "4", hangup="them", wait_ms=800)
    run.check()
    (request,) = [r for r in await _callbacks(settings) if r.id not in known]
    return request


async def _status_of(settings: Any, callback_id: int, wanted: str, within: float) -> m.Callback:
    deadline = time.monotonic() + within
    while True:
        row = next(r for r in await _callbacks(settings) if r.id == callback_id)
        if row.status == wanted or time.monotonic() > deadline:
            return row
        await asyncio.sleep(0.3)


async def test_a_callback_is_placed_when_an_agent_is_free(acme: Any, sipp: Sipp, alice: SippAgent) -> None:
    settings = acme.settings
    async with running_voice(settings, Clock(datetime.now(UTC))):
        request = await _ask_for_callback(settings, sipp)  # nobody is logged in
        queued = await _status_of(settings, request.id, "queued", 10)
        assert (queued.status, queued.attempts) == ("queued", 0)  # held by the ACD; no agent, nobody dialled
        await asyncio.sleep(1.5)
        assert (await _status_of(settings, request.id, "queued", 0)).attempts == 0

        # The customer's phone waits on the trunk's address; alice's phone registers and will answer.
        customer = sipp.answer("customer", port=CUSTOMER_PORT, ring_ms=500, bye_timeout_ms=40000)
        await asyncio.to_thread(alice.register().check)
        await online(acme, "acme-alice")
        answering = alice.answer(ring_ms=300)
        leg = await connected_leg(acme, "acme-alice", within=25)  # the customer answered, then alice did
        await asyncio.sleep(1.0)  # both on the line
        acme.ari(f"channels/{leg}", "DELETE")  # alice hangs up: the customer gets the BYE
        (await asyncio.to_thread(customer.wait, 20)).check()
        (await asyncio.to_thread(answering.wait, 10)).check()
        done = await _status_of(settings, request.id, "done", 10)
    assert (done.status, done.attempts) == ("done", 1) and done.completed_at is not None
    rows = {row["id"]: row for row in await interactions(settings)}
    placed = rows[done.placed_as_id]
    kinds = [k for k, _ in placed["events"]]
    assert placed["outcome"] == "answered" and placed["ended"]
    order = ["dialing", "callback-placed", "callback-answered", "item-offered", "item-connected", "item-completed"]
    assert [k for k in kinds if k in order] == order, kinds
    assert kinds.index("item-completed") < kinds.index("callback-completed")
    requested = rows[done.requested_by_id]
    assert requested["outcome"] == "callback" and "callback-requested" in [k for k, _ in requested["events"]]
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        interaction = await session.get(m.Interaction, done.placed_as_id)
        agent = (await session.execute(select(m.Agent.id).where(m.Agent.name == "alice"))).scalar_one()
    await store.dispose()
    assert interaction is not None and interaction.direction == "outbound" and interaction.agent_id == agent


@pytest.fixture
def to_voicemail(acme: Any, tmp_path: Path) -> Any:
    (tmp_path / "vm.yaml").write_text(TO_VOICEMAIL)
    Tvox(acme.config_path).ok("import", str(tmp_path / "vm.yaml"))
    return acme  # the module's fixture puts e2e-acme.yaml back


@pytest.fixture
def to_callback(acme: Any, tmp_path: Path) -> Any:
    (tmp_path / "cb.yaml").write_text(TO_CALLBACK)
    Tvox(acme.config_path).ok("import", str(tmp_path / "cb.yaml"))
    return acme


async def test_overflow_hands_the_caller_to_the_ivr_voicemail(to_voicemail: Any, sipp: Sipp) -> None:
    settings = to_voicemail.settings
    before = len(await interactions(settings))
    async with running_voice(settings, Clock(datetime.now(UTC))):
        # Nobody serves sales-overflow: after 2 s the caller is back in the IVR at its voicemail node,
        # records (silence, 5 s at most) and is hung up on once the ticket is made.
        scenario = caller_scenario(DID, "6", wait_ms=800, gap_ms=500, hangup="them", bye_timeout_ms=30000)
        run = await asyncio.to_thread(sipp.start(scenario, service=DID).wait, 45)
        run.check()
        rows = await wait_until_ended(settings, 1)
    row = rows[before]
    kinds = [k for k, _ in row["events"]]
    assert kinds.index("item-queued") < kinds.index("item-overflowed") < kinds.index("voicemail-ticket"), kinds
    assert path_of(row)[-1] == "leave-message" and "overflowing" in path_of(row)
    assert row["outcome"] == "voicemail" and row["ticket_id"] is not None


async def test_overflow_to_callback_keeps_the_request_and_lets_the_caller_go(to_callback: Any, sipp: Sipp) -> None:
    settings = to_callback.settings
    known = {r.id for r in await _callbacks(settings)}
    before = len(await interactions(settings))
    async with running_voice(settings, Clock(datetime.now(UTC))):
        # Nobody serves sales-overflow: after 2 s the call becomes a callback at the same place in the
        # queue; the caller hears the thank-you and is hung up on.
        scenario = caller_scenario(DID, "6", wait_ms=800, gap_ms=500, hangup="them", bye_timeout_ms=20000)
        run = await asyncio.to_thread(sipp.start(scenario, service=DID).wait, 30)
        run.check()
        rows = await wait_until_ended(settings, 1)
        (request,) = [r for r in await _callbacks(settings) if r.id not in known]
    row = rows[before]
    kinds = [k for k, _ in row["events"]]
    assert kinds.index("item-overflowed") < kinds.index("callback-requested"), kinds
    assert row["outcome"] == "callback"
    assert (request.status, request.attempts, request.requested_by_id) == ("queued", 0, row["id"])


async def test_a_busy_customer_is_tried_again_then_the_callback_fails(acme: Any, sipp: Sipp, alice: SippAgent) -> None:
    voice = acme.settings.voice.model_copy(update={"callback_attempts": 2, "callback_retry_seconds": 2.0})
    settings = acme.settings.model_copy(update={"voice": voice})
    async with running_voice(settings, Clock(datetime.now(UTC))):
        await asyncio.to_thread(alice.register().check)
        await online(acme, "acme-alice")
        customer = sipp.start(BUSY, local_port=CUSTOMER_PORT, calls=2)  # busy, twice
        request = await _ask_for_callback(settings, sipp)
        failed = await _status_of(settings, request.id, "failed", 20)
        (await asyncio.to_thread(customer.wait, 10)).check()
    assert (failed.status, failed.attempts) == ("failed", 2) and failed.completed_at is not None
    attempts = [r for r in await interactions(settings) if r["channel_id"].startswith("tvoxcc-callback-")]
    mine = [a for a in attempts if any(d.get("callback") == request.id for k, d in a["events"] if k == "dialing")]
    assert [a["outcome"] for a in mine] == ["no-answer", "no-answer"]
    assert all("callback-failed" in [k for k, _ in a["events"]] for a in mine)


async def test_a_cancelled_callback_leaves_the_line_and_is_never_dialled(
    acme: Any, sipp: Sipp, alice: SippAgent
) -> None:
    settings = acme.settings
    async with running_voice(settings, Clock(datetime.now(UTC))):
        request = await _ask_for_callback(settings, sipp)
        assert (await _status_of(settings, request.id, "queued", 10)).status == "queued"  # held by the ACD
        out = await asyncio.to_thread(Tvox(acme.config_path).ok, "callback", "cancel", "-t", "acme", str(request.id))
        assert f"callback {request.id} to " in out and "cancelled" in out
        await asyncio.sleep(3.0)  # the ACD's next poll (every 2 s) takes it off the line
        await asyncio.to_thread(alice.register().check)
        await online(acme, "acme-alice")  # a free agent: had the item stayed, its turn would come now
        await asyncio.sleep(3.0)
        row = await _status_of(settings, request.id, "cancelled", 0)
    assert (row.status, row.attempts, row.placed_as_id) == ("cancelled", 0, None)
    rows = {r["id"]: r for r in await interactions(settings)}
    kinds = [k for k, _ in rows[row.requested_by_id]["events"]]
    assert "item-abandoned" in kinds and "callback-placed" not in kinds, kinds


def _customer_calls(lab: Any) -> list[str]:
    return sorted(str(c["id"]) for c in lab.channels() if str(c["id"]).startswith(CALLBACK_LEG))


async def test_a_restart_while_dialling_ends_the_left_call_before_dialling_again(
    acme: Any, sipp: Sipp, alice: SippAgent
) -> None:
    settings = acme.settings
    sipp.answer("customer", port=CUSTOMER_PORT, ring_ms=60000, bye_timeout_ms=90000)  # rings on, never picks up
    await asyncio.to_thread(alice.register().check)
    await online(acme, "acme-alice")
    async with running_voice(settings, Clock(datetime.now(UTC))):
        request = await _ask_for_callback(settings, sipp)
        dialing = await _status_of(settings, request.id, "dialing", 15)
        assert dialing.status == "dialing"
    first = next(r for r in await interactions(settings) if r["id"] == dialing.placed_as_id)["channel_id"]
    assert _customer_calls(acme) == [first]  # the stopped run's call still rings the customer

    async with running_voice(settings, Clock(datetime.now(UTC))):
        deadline = time.monotonic() + 10
        while (row := await _status_of(settings, request.id, "dialing", 0)).attempts < 2:
            assert time.monotonic() < deadline, f"not dialled again: {row.status} after {row.attempts}"
            await asyncio.sleep(0.3)
        await asyncio.sleep(0.5)
        again = next(r for r in await interactions(settings) if r["id"] == row.placed_as_id)["channel_id"]
        assert again != first and _customer_calls(acme) == [again]  # one call to the customer, never two
    rows = {r["id"]: r for r in await interactions(settings)}
    assert rows[dialing.placed_as_id]["outcome"] == "interrupted" and rows[dialing.placed_as_id]["ended"]
