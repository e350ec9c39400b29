"""The call routes (route, lookup, survey, callback) against a scripted AGI peer over a real socket, on SQLite."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from tests.cli import make_tvox
from tvoxcc.agi import AgiRequest, AgiServer
from tvoxcc.agi.routes import all_routes
from tvoxcc.agi.routes._common import guarded
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHANNEL_ID = "1772442000.17"


@dataclass
class Peer:
    """Plays Asterisk: answers each command; GET DATA returns the next of ``keys`` ("" = timeout)."""

    keys: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    hang_up_on: str | None = None  # close the socket instead of answering a command starting with this
    silent_on: str | None = None  # never answer a command starting with this (a stalled Asterisk)
    commands: list[str] = field(default_factory=list)

    def reply(self, command: str) -> str | None:
        if command.startswith("GET DATA"):
            key = self.keys.pop(0) if self.keys else ""
            return f"200 result={key}" if key else "200 result= (timeout)"
        if command.startswith("GET VARIABLE"):
            name = command.split(" ", 2)[2]
            return f"200 result=1 ({self.variables[name]})" if name in self.variables else "200 result=0"
        if command.startswith(("STREAM FILE", "SAY DIGITS")):
            return "200 result=0 endpos=1000"
        return "200 result=1"

    def sets(self) -> dict[str, str]:
        out = {}
        for command in self.commands:
            match = re.fullmatch(r'SET VARIABLE (\S+) "(.*)"', command)
            if match:
                out[match[1].lstrip("_")] = match[2].replace('\\"', '"').replace("\\\\", "\\")
        return out

    def played(self) -> list[str]:
        return [c.split(" ")[2] for c in self.commands if c.startswith(("GET DATA", "STREAM FILE"))]


def header_block(script: str, args: tuple[str, ...], **extra: str) -> bytes:
    lines = {
        "agi_network": "yes",
        "agi_network_script": script,
        "agi_channel": "PJSIP/caller-00000011",
        "agi_uniqueid": CHANNEL_ID,
        "agi_callerid": "0212345678",
        "agi_dnid": "unknown",
        "agi_context": "tvoxcc-test",
        "agi_extension": "s",
        **extra,
        **{f"agi_arg_{i}": a for i, a in enumerate(args, 1)},
    }
    return "".join(f"{k}: {v}\n" for k, v in lines.items()).encode() + b"\n"


async def talk(server: AgiServer, script: str, *args: str, peer: Peer | None = None, **extra: str) -> Peer:
    """One AGI request from start to the server closing the socket."""
    peer = peer or Peer()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(header_block(script, args, **extra))
    async with asyncio.timeout(5):
        while line := await reader.readline():
            command = line.decode().rstrip("\n")
            peer.commands.append(command)
            if peer.hang_up_on and command.startswith(peer.hang_up_on):
                break
            if peer.silent_on and command.startswith(peer.silent_on):
                continue
            answer = peer.reply(command)
            writer.write(f"{answer}\n".encode())
    writer.close()
    for _ in range(100):  # the handler may still be finishing its store work
        if server.active == 0:
            break
        await asyncio.sleep(0.01)
    return peer


@dataclass
class Acme:
    store: Store
    server: AgiServer
    tenant_id: int
    agent_id: int
    queue_id: int
    contact_id: int
    interaction_id: int


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """acme set up once through the CLI (its own event loop, and the slow part); each test gets a copy."""
    tvox = make_tvox(tmp_path_factory.mktemp("acme"))
    tvox.ok("tenant", "add", "acme", "--country", "IT", "--language", "it")
    tvox.ok("service", "add", "-t", "acme", "sales", "--did", "+390299990000")
    tvox.ok("queue", "add", "-t", "acme", "sales-it", "--service", "sales")
    tvox.ok("agent", "add", "-t", "acme", "mario", "--extension", "201")
    return tvox.config.parent / "data" / "tvoxcc.db"


@pytest.fixture
def acme_url(template_db: Path, tmp_path: Path) -> str:
    for suffix in ("", "-wal"):  # WAL mode: a not yet checkpointed tail lives next to the file
        source = template_db.with_name(template_db.name + suffix)
        if source.exists():
            shutil.copy(source, tmp_path / f"tvoxcc.db{suffix}")
    return f"sqlite:///{tmp_path / 'tvoxcc.db'}"


@pytest.fixture
async def acme(acme_url: str) -> AsyncIterator[Acme]:
    store = Store.from_url(acme_url)
    async with store.session() as s:
        tenant = (await s.execute(select(m.Tenant))).scalar_one()
        service = (await s.execute(select(m.Service))).scalar_one()
        service.priority = 5
        agent_id = (await s.execute(select(m.Agent.id))).scalar_one()
        queue_id = (await s.execute(select(m.Queue.id))).scalar_one()
        vip = m.Contact(tenant_id=tenant.id, display_name='Big "Boss"\nCustomer', vip=True)
        vip.phones.append(m.ContactPhone(tenant_id=tenant.id, number="+390212345678"))
        s.add(vip)
        await s.flush()
        s.add(m.Ticket(tenant_id=tenant.id, number=1, contact_id=vip.id, status="open"))
        s.add(m.Ticket(tenant_id=tenant.id, number=2, contact_id=vip.id, status="closed"))
        call = m.Interaction(
            tenant_id=tenant.id,
            channel="voice",
            contact_id=vip.id,
            service_id=service.id,
            agent_id=agent_id,
            external_id=CHANNEL_ID,
            offered_at=NOW,
            answered_at=NOW,
        )
        s.add(call)
        await s.commit()
        ids = (tenant.id, agent_id, queue_id, vip.id, call.id)
    server = AgiServer(header_timeout=0.5, command_timeout=1.0)
    for path, handler in all_routes(store).items():
        server.add_route(path, handler)
    await server.start("127.0.0.1", 0)
    yield Acme(store, server, *ids)
    await server.close()
    await store.dispose()


async def rows(store: Store, model: type[m.NpsAnswer] | type[m.Callback]) -> list[object]:
    async with store.session() as s:
        return list((await s.execute(select(model).order_by(model.id))).scalars().all())


# -- route ---------------------------------------------------------------------------------------


async def test_route_by_arg_dnid_or_extension_in_any_number_form(acme: Acme) -> None:
    expected = {"TVOXCC_TENANT": "acme", "TVOXCC_SERVICE": "sales", "TVOXCC_LANGUAGE": "it"}
    by_arg = (await talk(acme.server, "route", "+390299990000")).sets()
    assert by_arg == {**expected, "TVOXCC_PRIORITY": "5", "TVOXCC_ROUTE": "ok"}
    assert (await talk(acme.server, "route", agi_dnid="0299990000")).sets() == by_arg  # national form
    assert (await talk(acme.server, "route", agi_extension="00390299990000")).sets() == by_arg
    peer = await talk(acme.server, "route", "+390299990000")
    assert peer.commands[0] == 'SET VARIABLE __TVOXCC_TENANT "acme"'  # inherited by the agent's leg


async def test_route_unknown_or_missing_did(acme: Acme, caplog: pytest.LogCaptureFixture) -> None:
    unknown = (await talk(acme.server, "route", "5559999")).sets()
    assert unknown["TVOXCC_ROUTE"] == "unknown" and unknown["TVOXCC_TENANT"] == ""
    caplog.clear()
    with caplog.at_level(logging.INFO):
        missing = (await talk(acme.server, "route", "'; DROP TABLE dids;--")).sets()
    assert missing["TVOXCC_ROUTE"] == "error"
    assert len(caplog.records) == 1 and "RouteInputError" in caplog.text


# -- lookup --------------------------------------------------------------------------------------


async def test_lookup_known_caller_from_callerid_and_tenant_variable(acme: Acme) -> None:
    peer = await talk(acme.server, "lookup", peer=Peer(variables={"TVOXCC_TENANT": "acme"}))
    assert peer.sets() == {
        "TVOXCC_CALLER": "+390212345678",
        "CALLERID(name)": 'Big "Boss" Customer',  # one printable line, quotes escaped on the wire
        "TVOXCC_CONTACT_ID": str(acme.contact_id),
        "TVOXCC_VIP": "1",
        "TVOXCC_OPEN_TICKETS": "1",
        "TVOXCC_LAST_AGENT": "mario",
        "TVOXCC_LOOKUP": "known",
    }
    assert 'SET VARIABLE CALLERID(name) "Big \\"Boss\\" Customer"' in peer.commands


async def test_lookup_unknown_caller_keeps_its_caller_id(acme: Acme) -> None:
    sets = (await talk(acme.server, "lookup", "acme", "+4930123456")).sets()
    assert "CALLERID(name)" not in sets
    assert sets["TVOXCC_CONTACT_ID"] == "" and sets["TVOXCC_LOOKUP"] == "unknown" and sets["TVOXCC_VIP"] == "0"
    anonymous = (await talk(acme.server, "lookup", "acme", agi_callerid="anonymous")).sets()
    assert anonymous["TVOXCC_CALLER"] == "" and anonymous["TVOXCC_LOOKUP"] == "unknown"


@pytest.mark.parametrize("tenant", ["", "nope", "x" * 500, "acme;evil"])
async def test_lookup_without_a_real_tenant_is_an_error(acme: Acme, tenant: str) -> None:
    assert (await talk(acme.server, "lookup", tenant)).sets() == {"TVOXCC_LOOKUP": "error"}


# -- survey --------------------------------------------------------------------------------------


async def test_survey_by_channel_stores_score_with_agent(acme: Acme) -> None:
    peer = await talk(acme.server, "survey", peer=Peer(keys=["9"]))
    assert peer.sets() == {"TVOXCC_NPS": "9", "TVOXCC_SURVEY": "stored"}
    assert peer.played() == ["beep", "auth-thankyou"]
    (answer,) = await rows(acme.store, m.NpsAnswer)
    assert isinstance(answer, m.NpsAnswer)
    assert (answer.interaction_id, answer.agent_id, answer.score, answer.second_score) == (
        acme.interaction_id, acme.agent_id, 9, None
    )  # fmt: skip
    again = await talk(acme.server, "survey", peer=Peer(keys=["1"]))
    assert again.sets() == {"TVOXCC_SURVEY": "duplicate"} and len(await rows(acme.store, m.NpsAnswer)) == 1


async def test_survey_star_is_ten_and_second_question_and_reask(acme: Acme) -> None:
    peer = await talk(acme.server, "survey", str(acme.interaction_id), "2", peer=Peer(keys=["*", "", "4"]))
    assert peer.played() == ["beep", "beep", "invalid&beep", "auth-thankyou"]
    (answer,) = await rows(acme.store, m.NpsAnswer)
    assert isinstance(answer, m.NpsAnswer) and (answer.score, answer.second_score) == (10, 4)


async def test_survey_two_bad_answers_end_cleanly_without_storing(acme: Acme) -> None:
    peer = await talk(acme.server, "survey", CHANNEL_ID, peer=Peer(keys=["#", "12"]))
    assert peer.sets() == {"TVOXCC_SURVEY": "no-answer"}
    assert peer.played() == ["beep", "invalid&beep", "goodbye"]
    assert await rows(acme.store, m.NpsAnswer) == []


async def test_survey_uses_linkedid_and_tenant_prompts(acme: Acme) -> None:
    async with acme.store.tenant(acme.tenant_id) as s:
        s.add(m.Prompt(name="survey-question", language="it", text="Quanto ci consiglierebbe?"))
        await s.commit()
    peer = Peer(keys=["0"], variables={"CHANNEL(linkedid)": CHANNEL_ID})
    await talk(acme.server, "survey", peer=peer, agi_uniqueid="1772442000.99")
    assert peer.played()[0] == "tvoxcc/acme/it/survey-question"
    (answer,) = await rows(acme.store, m.NpsAnswer)
    assert isinstance(answer, m.NpsAnswer) and answer.score == 0


async def test_survey_for_no_interaction_is_an_error(acme: Acme) -> None:
    peer = await talk(acme.server, "survey", "999999", peer=Peer(keys=["9"]))
    assert peer.sets() == {"TVOXCC_SURVEY": "error"} and "ANSWER" not in peer.commands


async def test_survey_caller_hangs_up_mid_question(acme: Acme, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="tvoxcc.agi.server"):
        await talk(acme.server, "survey", peer=Peer(keys=["9"], hang_up_on="GET DATA"))
    assert await rows(acme.store, m.NpsAnswer) == []
    assert len(caplog.records) == 1 and "hangup" in caplog.text
    assert (await talk(acme.server, "survey", peer=Peer(keys=["7"]))).sets()["TVOXCC_SURVEY"] == "stored"


async def test_survey_stalled_asterisk_times_out(acme: Acme, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="tvoxcc.agi.server"):
        await talk(acme.server, "survey", peer=Peer(silent_on="GET DATA"))
    assert len(caplog.records) == 1 and "no reply to 'GET'" in caplog.text


# -- callback ------------------------------------------------------------------------------------


async def test_callback_typed_number_confirmed(acme: Acme) -> None:
    peer = await talk(acme.server, "callback", "acme", "sales", "sales-it", peer=Peer(keys=["3471234567", "1"]))
    sets = peer.sets()
    assert sets["TVOXCC_CALLBACK"] == "stored"
    assert 'SAY DIGITS 3471234567 ""' in peer.commands
    (row,) = await rows(acme.store, m.Callback)
    assert isinstance(row, m.Callback)
    assert (row.id, row.number, row.queue_id, row.status, row.requested_by_id, row.contact_id) == (
        int(sets["TVOXCC_CALLBACK_ID"]), "+393471234567", acme.queue_id, "pending", acme.interaction_id, None
    )  # fmt: skip
    (event,) = [e for e in await rows(acme.store, m.InteractionEvent) if e.kind == "callback-requested"]
    assert isinstance(event, m.InteractionEvent)
    assert (event.interaction_id, event.queue_id, event.data["callback"]) == (
        acme.interaction_id,
        acme.queue_id,
        row.id,
    )


async def test_callback_pound_alone_uses_caller_id_after_a_bad_try(acme: Acme) -> None:
    peer = await talk(acme.server, "callback", "acme", "sales", peer=Peer(keys=["12", "", "1"]))
    assert peer.played()[:2] == ["vm-enter-num-to-call&vm-then-pound", "invalid"]
    (row,) = await rows(acme.store, m.Callback)
    assert isinstance(row, m.Callback)
    # No queue named: the service's only one (a request without a queue would never be dialled).
    assert (row.number, row.queue_id, row.contact_id) == ("+390212345678", acme.queue_id, acme.contact_id)


async def test_callback_without_a_queue_in_a_service_of_two_is_refused(
    acme: Acme, caplog: pytest.LogCaptureFixture
) -> None:
    async with acme.store.tenant(acme.tenant_id) as session:
        service_id = (await session.execute(select(m.Service.id))).scalar_one()
        session.add(m.Queue(name="sales-en", service_id=service_id))
        await session.commit()
    peer = await talk(acme.server, "callback", "acme", "sales", peer=Peer(keys=["3471234567", "1"]))
    assert peer.sets() == {"TVOXCC_CALLBACK": "error"} and await rows(acme.store, m.Callback) == []
    assert "has 2 queues (sales-en, sales-it): name the one to call back from" in caplog.text
    peer = await talk(acme.server, "callback", "acme", "sales", "sales-en", peer=Peer(keys=["3471234567", "1"]))
    assert peer.sets()["TVOXCC_CALLBACK"] == "stored"


async def test_callback_not_confirmed_twice_fails(acme: Acme) -> None:
    peer = await talk(acme.server, "callback", "acme", "sales", peer=Peer(keys=["3471234567", "2", "3471234567", ""]))
    assert peer.sets() == {"TVOXCC_CALLBACK": "failed"} and await rows(acme.store, m.Callback) == []


@pytest.mark.parametrize("args", [(), ("acme",), ("acme", "nope"), ("acme", "sales", "nope"), ("acme", "../x")])
async def test_callback_bad_args(acme: Acme, args: tuple[str, ...]) -> None:
    peer = await talk(acme.server, "callback", *args)
    assert peer.sets() == {"TVOXCC_CALLBACK": "error"} and "ANSWER" not in peer.commands


# -- every route ---------------------------------------------------------------------------------


async def test_agent_codes_without_acd_are_refused_politely(acme: Acme) -> None:
    peer = await talk(acme.server, "agent-login", "acme", "mario")
    assert peer.sets() == {"TVOXCC_AGENT_RESULT": "refused"}


@pytest.mark.parametrize("path", ["route", "lookup", "survey", "callback"])
async def test_disconnect_right_after_headers(acme: Acme, path: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="tvoxcc.agi.server"):
        await talk(acme.server, path, "acme", "sales", peer=Peer(hang_up_on=""))
    assert len(caplog.records) <= 1 and "Traceback" not in caplog.text


async def test_guard_turns_store_errors_and_deadline_into_one_line(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(request: AgiRequest) -> None:
        raise OperationalError("SELECT secret", {}, Exception("database is locked"))

    async def slow(request: AgiRequest) -> None:
        await asyncio.sleep(10)

    server = AgiServer(header_timeout=0.5, command_timeout=1.0)
    server.add_route("broken", guarded(broken, 5))
    server.add_route("slow", guarded(slow, 0.2))
    await server.start("127.0.0.1", 0)
    try:
        with caplog.at_level(logging.INFO, logger="tvoxcc.agi.server"):
            await talk(server, "broken")
            await talk(server, "slow")
    finally:
        await server.close()
    lines = caplog.text.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in caplog.text and "secret" not in caplog.text
    assert "store unavailable: OperationalError" in lines[0] and "longer than 0.2s" in lines[1]
