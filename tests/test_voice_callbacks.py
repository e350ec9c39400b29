"""Callbacks on the voice side: the tenant's outbound route (document, store, pjsip.conf), the callback rows'
life as the ACD drives it (on SQLite and PostgreSQL), and the IVR entered at a node (a queue's overflow)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from tests.cli import Tvox
from tvoxcc.asterisk.from_store import render_input_from_store
from tvoxcc.asterisk.render import render_all
from tvoxcc.config import Settings
from tvoxcc.interactions import InteractionEventKind as Kind
from tvoxcc.interactions import Outcome
from tvoxcc.ivr import commands as c
from tvoxcc.ivr.interpreter import CallerInfo, start
from tvoxcc.ivr.nodes import Flow
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.callback_status import CallbackStatus
from tvoxcc.voice.callbacks import CallbackBook, NotDiallable, OutboundRoute
from tvoxcc.voice.directory import Directory

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TENANT = """\
tenant: {name: acme, timezone: Europe/Rome, country: IT}
services:
  - {name: sales, dids: ["1000"]}
queues:
  - name: sales-it
    service: sales
    overflow:
      - {when: wait, after_seconds: 60, action: ivr, target: main}
      - {when: no-agents, action: voicemail}
outbound:
  endpoint: "PJSIP/{number}@acme-pstn"
  caller_id: "+390299990000"
  trunk: {name: acme-pstn, host: 127.0.0.1, port: 5070}
  ring_seconds: 20
ivrs:
  - service: sales
    start: main
    nodes:
      main: {type: menu, prompts: ["sound:beep"], options: {"1": sales}, on_fail: bye}
      sales: {type: queue, queue: sales-it}
      bye: {type: hangup, prompts: ["sound:goodbye"]}
"""


def test_outbound_route_dials_numbers_only() -> None:
    route = OutboundRoute.from_data({"endpoint": "PJSIP/{number}@acme-pstn", "caller_id": "+39020"})
    assert route.dial("+390212345678") == "PJSIP/+390212345678@acme-pstn"
    for bad in ("123@evil", "1,2", "", "x" * 40):
        with pytest.raises(NotDiallable):
            route.dial(bad)


def test_outbound_in_the_tenant_document(tvox: Tvox, tmp_path: Path) -> None:
    source = tmp_path / "acme.yaml"
    source.write_text(TENANT)
    tvox.ok("import", str(source))
    exported = yaml.safe_load(tvox.ok("export", "acme"))
    assert exported["outbound"] == yaml.safe_load(TENANT)["outbound"]
    # A file without it keeps the stored one; bad values are refused with their path.
    tvox.ok("import", str(_write(tmp_path, "tenant: {name: acme, timezone: Europe/Rome, country: IT}\n")))
    assert yaml.safe_load(tvox.ok("export", "acme"))["outbound"]["trunk"]["name"] == "acme-pstn"
    bad = yaml.safe_load(TENANT)
    bad["outbound"]["endpoint"] = "PJSIP/5551234@acme-pstn"  # no {number}
    out = tvox.fails("import", str(_write(tmp_path, yaml.safe_dump(bad))))
    assert "outbound.endpoint" in out
    bad = yaml.safe_load(TENANT)
    bad["queues"][0]["overflow"][0]["target"] = "nowhere"
    out = tvox.fails("import", str(_write(tmp_path, yaml.safe_dump(bad))))
    assert "queues[0].overflow[0].target: no node 'nowhere' in the IVR of service 'sales'" in out


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "part.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def acme_sqlite(tvox: Tvox, tmp_path: Path) -> str:
    tvox.ok("import", str(_write(tmp_path, TENANT)))
    return f"sqlite:///{tvox.config.parent / 'data' / 'tvoxcc.db'}"


@pytest.fixture
def two_tenants(tvox_any: Tvox, db_url: str, tmp_path: Path) -> str:
    tvox_any.ok("import", str(_write(tmp_path, TENANT)))
    tvox_any.ok("tenant", "add", "beta")  # no outbound route: its callbacks stay pending
    tvox_any.ok("service", "add", "-t", "beta", "main")
    tvox_any.ok("queue", "add", "-t", "beta", "main-q", "--service", "main")
    return db_url


async def test_the_trunk_is_rendered_from_the_store(acme_sqlite: str) -> None:
    settings = Settings.model_validate({"database": {"url": acme_sqlite}})
    pjsip = render_all(await render_input_from_store(settings))["pjsip.conf"]
    assert "[acme-pstn](tvoxcc-endpoint)" in pjsip and "contact = sip:127.0.0.1:5070" in pjsip


async def test_a_callback_row_through_its_attempts(two_tenants: str) -> None:
    store = Store.from_url(two_tenants)
    directory, book = Directory(store), CallbackBook(store)
    try:
        route = await directory.route("acme", "sales")
        caller = await directory.identify(route, "+390212345678")
        asked = await directory.open_interaction(route, caller, "1.1", NOW)
        first = await directory.request_callback(route, asked, "sales-it", caller.number, NOW)
        beta = await directory.route("beta", "main")
        other = await directory.open_interaction(beta, await directory.identify(beta, "+3902111"), "1.2", NOW)
        await directory.request_callback(beta, other, "main-q", "+3902111", NOW)

        routes = await book.outbound_routes()
        assert routes == {"acme": OutboundRoute("PJSIP/{number}@acme-pstn", "+390299990000", 20)}
        jobs = await book.take_pending(set(routes))
        assert [(j.item_id, j.queue, j.number, j.interaction_id) for j in jobs] == [
            (f"callback-{first}", "sales-it", "+390212345678", asked.id)
        ]
        assert await book.take_pending(set(routes)) == []  # taken once
        job = jobs[0]

        # First attempt: nobody answers; the row goes back to the queue.
        job.channel_id = "tvoxcc-callback-a"
        job.interaction_id = await book.placing(job, job.channel_id, "+390299990000", NOW)
        await book.finished(job, NOW + timedelta(seconds=20), status=CallbackStatus.QUEUED, outcome=Outcome.NO_ANSWER)
        # A restart takes back what the lost run held.
        assert [(j.callback_id, j.left_ringing) for j in await book.take_pending(set(routes), again=True)] == [
            (first, None)
        ]
        # Second attempt: answered, talked to an agent.
        job.channel_id = "tvoxcc-callback-b"
        job.interaction_id = await book.placing(job, job.channel_id, "+390299990000", NOW + timedelta(minutes=5))
        # A run that stops while dialling leaves its attempt's channel behind: the next run is told which.
        (held,) = await book.take_pending(set(routes), again=True)
        assert (held.left_ringing, held.interaction_id) == ("tvoxcc-callback-b", job.interaction_id)
        attempt = job.interaction()
        assert attempt is not None
        await directory.close(route, attempt, NOW + timedelta(minutes=7), "answered")
        await directory.recorder.flush()
        await book.finished(
            job, NOW + timedelta(minutes=7), status=CallbackStatus.DONE, outcome=None, event=Kind.CALLBACK_COMPLETED
        )

        async with store.session() as session:
            row = await session.get(m.Callback, first)
            attempts = (
                await session.execute(
                    select(m.Interaction).where(m.Interaction.direction == "outbound").order_by(m.Interaction.id)
                )
            ).scalars().all()  # fmt: skip
            kinds = (
                await session.execute(
                    select(m.InteractionEvent.interaction_id, m.InteractionEvent.kind).order_by(m.InteractionEvent.id)
                )
            ).all()  # fmt: skip
            pending = (await session.execute(select(m.Callback.status).where(m.Callback.id != first))).scalar_one()
        assert row is not None
        assert (row.status, row.attempts, row.placed_as_id) == ("done", 2, attempts[1].id)
        assert row.completed_at is not None
        assert [(a.outcome, a.to_address, a.from_address) for a in attempts] == [
            ("no-answer", "+390212345678", "+390299990000"),
            ("answered", "+390212345678", "+390299990000"),
        ]
        assert (asked.id, "callback-requested") in kinds and (attempts[1].id, "callback-completed") in kinds
        assert pending == "pending"
    finally:
        await store.dispose()


async def test_operators_list_and_cancel_callbacks_and_a_cancelled_one_is_never_dialled(
    two_tenants: str, tvox_any: Tvox
) -> None:
    store = Store.from_url(two_tenants)
    directory, book = Directory(store), CallbackBook(store)
    try:
        route = await directory.route("acme", "sales")
        ids = []
        for n, number in enumerate(("+390212345678", "+390287654321", "+390211111111")):
            asked = await directory.open_interaction(route, await directory.identify(route, number), f"1.{n}", NOW)
            ids.append(await directory.request_callback(route, asked, "sales-it", number, NOW + timedelta(minutes=n)))
        beta = await directory.route("beta", "main")
        other = await directory.open_interaction(beta, await directory.identify(beta, "+3902111"), "2.1", NOW)
        beta_id = await directory.request_callback(beta, other, "main-q", "+3902111", NOW)
        taken = {j.callback_id: j for j in await book.take_pending({"acme"})}  # all three queued in an ACD
        dialled = taken[ids[2]]
        dialled.channel_id = "tvoxcc-callback-x"
        assert await book.placing(dialled, dialled.channel_id, "", NOW) is not None
    finally:
        await store.dispose()

    listed = json.loads(await asyncio.to_thread(tvox_any.ok, "callback", "list", "-t", "acme", "--json"))
    assert [(c["id"], c["number"], c["status"], c["queue"]) for c in listed] == [
        (ids[0], "+390212345678", "queued", "sales-it"),
        (ids[1], "+390287654321", "queued", "sales-it"),
        (ids[2], "+390211111111", "dialing", "sales-it"),
    ]
    assert [
        c["id"] for c in json.loads(await asyncio.to_thread(tvox_any.ok, "callback", "list", "-t", "beta", "--json"))
    ] == [beta_id]
    assert f"callback {ids[1]} to +390287654321 cancelled" in await asyncio.to_thread(
        tvox_any.ok, "callback", "cancel", "-t", "acme", str(ids[1])
    )
    assert "only a pending or queued one" in await asyncio.to_thread(
        tvox_any.fails, "callback", "cancel", "-t", "acme", str(ids[2])
    )
    assert "is cancelled" in await asyncio.to_thread(tvox_any.fails, "callback", "cancel", "-t", "acme", str(ids[1]))
    assert f"no callback {beta_id} in tenant 'acme'" in await asyncio.to_thread(
        tvox_any.fails, "callback", "cancel", "-t", "acme", str(beta_id)
    )
    assert "unknown tenant" in await asyncio.to_thread(tvox_any.fails, "callback", "list", "-t", "nope")
    table = await asyncio.to_thread(tvox_any.ok, "callback", "list", "-t", "acme")
    assert table.splitlines()[0].split() == ["ID", "NUMBER", "CONTACT", "QUEUE", "STATUS", "ATTEMPTS", "REQUESTED_AT"]
    assert str(ids[1]) not in [line.split()[0] for line in table.splitlines()[1:]]  # open ones only
    cancelled = json.loads(
        await asyncio.to_thread(tvox_any.ok, "callback", "list", "-t", "acme", "--status", "cancelled", "--json")
    )
    assert [c["id"] for c in cancelled] == [ids[1]] and cancelled[0]["completed_at"] is not None

    store = Store.from_url(two_tenants)
    book = CallbackBook(store)
    try:
        # The running ACD learns of it at its next poll; if its turn came first, no attempt starts.
        assert await book.cancelled(set(ids)) == {ids[1]}
        job = taken[ids[1]]
        job.channel_id = "tvoxcc-callback-y"
        assert await book.placing(job, job.channel_id, "", NOW) is None
        await book.finished(job, NOW, status=CallbackStatus.FAILED, outcome=Outcome.NO_ANSWER)  # the cancel stands
        async with store.session() as session:
            row = await session.get(m.Callback, ids[1])
            outbound = (
                await session.execute(select(m.Interaction.id).where(m.Interaction.to_address == "+390287654321"))
            ).all()
        assert row is not None and (row.status, row.attempts) == ("cancelled", 0) and outbound == []
    finally:
        await store.dispose()


def test_the_ivr_can_be_entered_at_a_node() -> None:
    flow = Flow.model_validate(yaml.safe_load(TENANT)["ivrs"][0])
    state, commands = start(flow, CallerInfo("+39021"), NOW, at="bye")
    assert state.node == "bye" and not any(isinstance(cmd, c.Answer) for cmd in commands)
    assert any(isinstance(cmd, c.Play) and cmd.prompts == ("sound:goodbye",) for cmd in commands)
    with pytest.raises(KeyError):
        start(flow, CallerInfo("+39021"), NOW, at="nowhere")
