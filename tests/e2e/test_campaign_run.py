"""Campaign runs on the lab: the runner (rows), the dialer core and its lines on Asterisk, with sipp customers
behind the tenant's trunk and sipp agent phones.

Progressive, one agent, five records: a person; an answering machine (hung up: done); busy twice
(exhausted at 2 attempts); no answer then a person; a person. Every record must end final in the rows, the
agent never be offered a second call while on one, and the ledger hold the live answers. In these first two
runs the agents' availability is fed by this test (AgentReady after each call): they test the dialer and its
lines alone; each talk is ended by hanging up the customer's channel 3 s after the connection (the customer
hanging up). Predictive, two agents: six people answer lines that ring side by side.

The last two run the campaign as deployed: `voice run` works it through its ACD, which says who is free.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.cli import Tvox
from tests.e2e.test_campaign_lines import CUSTOMER_PORT, ROUTE, trunk  # noqa: F401  (the trunk fixture)
from tests.e2e.test_voice_acd import Clock, caller, online
from tests.e2e.test_voice_callback import CUSTOMER_PORT as VOICE_CUSTOMER_PORT
from tests.e2e.test_voice_callback import acme  # noqa: F401  (acme with its outbound route and trunk)
from tests.e2e.voice import running_voice
from tvoxcc.ari import AriClient, AriError, Connected
from tvoxcc.campaigns import store as cs
from tvoxcc.campaigns.contact_list import ListedRecord
from tvoxcc.campaigns.events import (
    Abandon,
    AgentReady,
    CallEnded,
    Command,
    Connect,
    ConnectFailed,
    Dial,
    HangUp,
    LeaveMessage,
    LineResult,
)
from tvoxcc.campaigns.lines import CampaignLines
from tvoxcc.campaigns.model import CampaignStatus, DialMode, MachineAction, RecordState, RetryRules
from tvoxcc.campaigns.runner import CampaignRunner
from tvoxcc.campaigns.spec import CampaignSettings, parse_window
from tvoxcc.lab.greeting import greeting_pcap
from tvoxcc.lab.sipp import Sipp, SippAgent, SippRun
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.acd import AGENT_LEG

pytestmark = pytest.mark.asterisk

NUMBERS = ["+15550000001", "+15550000002", "+15550000003", "+15550000004", "+15550000005"]
# (number, attempt) -> how the customer behaves; anything else: a person.
BEHAVIOUR = {
    ("+15550000002", 1): "machine",
    ("+15550000003", 1): "busy",
    ("+15550000003", 2): "busy",
    ("+15550000004", 1): "no-answer",
}


async def campaign(store: Store, name: str, mode: DialMode, numbers: list[str]) -> None:
    async with store.session() as session:
        if (await session.execute(select(m.Tenant).where(m.Tenant.name == "camp"))).scalar_one_or_none() is None:
            session.add(m.Tenant(name="camp", timezone="UTC", country="US"))
            await session.commit()
    settings = CampaignSettings(
        window=parse_window("mon-sun 00:00-24:00"),
        retry=RetryRules(max_attempts=2, busy_s=1.0, no_answer_s=1.0, failed_s=1.0, machine_s=None),
        ring_s=15.0,
        machine_action=MachineAction.HANG_UP,
    )
    await cs.save_campaign(store, "camp", name, cs.CampaignDraft(mode=mode, settings=settings), new=True)
    listed = [ListedRecord(n, {}, f"e2e:{i}") for i, n in enumerate(numbers, 2)]
    await cs.import_records(store, "camp", name, listed, datetime.now(UTC))
    async with store.session() as session:
        row = (await session.execute(select(m.Campaign).where(m.Campaign.name == name))).scalar_one()
        row.status = CampaignStatus.RUNNING.value
        await session.commit()


async def drive(
    lab: Any, store: Store, name: str, agents: list[SippAgent], dial_customer: Callable[[Dial, int], None]
) -> list[str]:
    """Run the campaign until every record is final; the agents offered calls, in order. ``dial_customer``
    readies the customer's phone for a line (given the record's attempt) just before it is dialled."""
    runner = await CampaignRunner.load(store, "camp", name, time.time())
    inbox: asyncio.Queue[LineResult | CallEnded | ConnectFailed] = asyncio.Queue()
    phones = {agent.user: agent for agent in agents}
    agent_calls: dict[str, SippRun] = {}
    talking: dict[int, str] = {}  # line -> agent, as this test sees it
    offered: list[str] = []
    talks: list[asyncio.Task[None]] = []  # each ends its talk after 3 s

    async with AriClient.from_settings(lab.settings) as ari:
        lines = CampaignLines(ari, ROUTE, inbox.put, message="hello-world", agent_endpoint=lambda a: f"PJSIP/{a}")
        events = ari.events()
        connected = asyncio.Event()

        async def app() -> None:
            async for event in events:
                if isinstance(event, Connected):
                    connected.set()
                await lines.on_event(event)

        async def end_talk(line: int) -> None:
            await asyncio.sleep(3)
            call = lines.by_line.get(line)
            if call is not None:
                await ari.channels.hangup(call.channel_id)

        async def carry_out(commands: list[Command]) -> None:
            for command in commands:
                if isinstance(command, Dial):
                    attempt = runner.dialer.book.records[command.record_id].attempts
                    await asyncio.to_thread(dial_customer, command, attempt)
                    await asyncio.sleep(0.3)
                    await lines.dial(command)
                elif isinstance(command, Connect):
                    assert command.agent not in talking.values(), "an agent was offered a second call"
                    talking[command.line] = command.agent
                    offered.append(command.agent)
                    await lines.carry_out(command)
                    talks.append(asyncio.create_task(end_talk(command.line)))
                elif isinstance(command, Abandon | HangUp | LeaveMessage):
                    await lines.carry_out(command)

        async def ready(agent: str) -> None:
            agent_calls[agent] = phones[agent].answer(ring_ms=200)
            await asyncio.sleep(0.3)
            await carry_out(await runner.handle(AgentReady(agent), time.time()))

        task = asyncio.create_task(app())
        try:
            await asyncio.wait_for(connected.wait(), 10)
            for agent in phones:
                await ready(agent)
            deadline = time.monotonic() + 150
            while not all(r.final for r in runner.dialer.book.records.values()):
                assert time.monotonic() < deadline, runner.dialer.book.records
                try:
                    event = await asyncio.wait_for(inbox.get(), 0.5)
                except TimeoutError:
                    await carry_out(await runner.tick(time.time()))
                    continue
                await carry_out(await runner.handle(event, time.time()))
                if isinstance(event, CallEnded):
                    agent = talking.pop(event.line)
                    await asyncio.to_thread(agent_calls[agent].wait, 30)
                    agent_calls[agent].check()
                    await ready(agent)
        finally:
            await events.close()
            task.cancel()
    for run in agent_calls.values():
        run.process.kill()
    return offered


async def rows_of(store: Store, name: str) -> tuple[list[Any], list[Any], list[Any]]:
    async with store.session() as session:
        campaign_id = await session.scalar(select(m.Campaign.id).where(m.Campaign.name == name))
        rows = (
            (
                await session.execute(
                    select(m.CampaignRecord)
                    .where(m.CampaignRecord.campaign_id == campaign_id)
                    .order_by(m.CampaignRecord.id)
                )
            )
            .scalars()
            .all()
        )
        attempts = (
            (await session.execute(select(m.CampaignAttempt).where(m.CampaignAttempt.campaign_id == campaign_id)))
            .scalars()
            .all()
        )
        ledger = (
            (await session.execute(select(m.AbandonLedgerRow).where(m.AbandonLedgerRow.campaign_id == campaign_id)))
            .scalars()
            .all()
        )
    return list(rows), list(attempts), list(ledger)


async def interactions_of(store: Store, attempts: list[Any]) -> dict[int, Any]:
    """The outbound interaction of each attempt that has one (tvoxcc.campaigns.calls), by attempt id."""
    async with store.session() as session:
        wanted = [a.interaction_id for a in attempts if a.interaction_id is not None]
        rows = (await session.execute(select(m.Interaction).where(m.Interaction.id.in_(wanted)))).scalars().all()
        by_id = {row.id: row for row in rows}
        agents = dict((await session.execute(select(m.Agent.id, m.Agent.name))).all())
    for row in by_id.values():
        row.agent_name = agents.get(row.agent_id)
    return {a.id: by_id[a.interaction_id] for a in attempts if a.interaction_id in by_id}


def assert_calls_are_interactions(attempts: list[Any], calls: dict[int, Any], tenant: str) -> None:
    """Every line a person or a machine answered is an outbound interaction: a talk the connected agent's
    (answered, its talk time; an agent of another tenant is nobody's), a machine or an abandon nobody's; lines
    that reached nobody are none."""
    for a in attempts:
        call = calls.get(a.id)
        if a.outcome in ("busy", "no-answer", "failed"):
            assert call is None, a.outcome
            continue
        assert call is not None and call.direction == "outbound" and call.to_address == a.number, a.outcome
        if a.outcome == "human":
            agent = a.agent.removeprefix(f"{tenant}-") if a.agent.startswith(f"{tenant}-") else None
            assert (call.outcome, call.agent_name) == ("answered", agent)
            assert call.answered_at is not None and call.ended_at > call.answered_at
        else:
            assert (call.outcome, call.agent_id) == ("machine" if a.outcome == "machine" else "abandoned", None)


async def test_a_progressive_campaign_ends_every_record(trunk: Any, sipp: Sipp, tmp_path: Path) -> None:  # noqa: F811
    lab = trunk
    store = Store.from_url(lab.settings.database.url.get_secret_value())
    name = f"e2e-{secrets.token_hex(3)}"
    await campaign(store, name, DialMode.PROGRESSIVE, NUMBERS)
    person = greeting_pcap(tmp_path / "person.pcap", lead_ms=200, tone_ms=700, silence_ms=9000)
    machine = greeting_pcap(tmp_path / "machine.pcap", lead_ms=200, tone_ms=6000, silence_ms=2000)
    alice = agent_phone(lab, sipp, "acme-alice")
    customers: list[SippRun] = []

    def dial_customer(command: Dial, attempt: int) -> None:
        # Every customer answers on the trunk's one port: the last line's sipp must have let it go (it may still
        # be exiting when the campaign dials again; CI once saw "Address already in use"). A sipp that hangs on
        # is not waited for past 15 s: the new one then fails to bind and the test says so.
        for earlier in customers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                earlier.process.wait(15)
        kind = BEHAVIOUR.get((command.number, attempt), "person")
        if kind == "busy":
            customers.append(sipp.customer_busy(port=CUSTOMER_PORT))
        elif kind == "no-answer":
            customers.append(sipp.customer_no_answer(port=CUSTOMER_PORT))
        else:
            pcap = machine if kind == "machine" else person
            customers.append(sipp.customer_answers(port=CUSTOMER_PORT, pcap=pcap, ring_ms=300))

    try:
        offered = await drive(lab, store, name, [alice], dial_customer)
        for run in customers:
            await asyncio.to_thread(run.wait, 40)
            run.check()
        rows, attempts, ledger = await rows_of(store, name)
        calls = await interactions_of(store, attempts)
    finally:
        await asyncio.to_thread(lambda: alice.unregister().check())
        await store.dispose()
    assert [(r.number, r.state, r.attempts) for r in rows] == [
        (NUMBERS[0], RecordState.DONE, 1),
        (NUMBERS[1], RecordState.DONE, 1),
        (NUMBERS[2], RecordState.EXHAUSTED, 2),
        (NUMBERS[3], RecordState.DONE, 2),
        (NUMBERS[4], RecordState.DONE, 1),
    ]
    assert sorted(a.outcome or "" for a in attempts) == sorted(
        ["human", "machine", "busy", "busy", "no-answer", "human", "human"]
    )
    assert offered == ["acme-alice"] * 3
    assert [e.entry for e in ledger].count("live") == 3 and "abandoned" not in [e.entry for e in ledger]
    assert_calls_are_interactions(attempts, calls, "camp")
    assert sorted(c.outcome for c in calls.values()) == ["answered"] * 3 + ["machine"]


async def test_a_predictive_campaign_with_two_agents(trunk: Any, sipp: Sipp, tmp_path: Path) -> None:  # noqa: F811
    """Six people answer, two agents: lines ring side by side (one sipp customer takes them all), each person
    reaches a free agent, no agent gets a second call while on one, every record ends done."""
    lab = trunk
    store = Store.from_url(lab.settings.database.url.get_secret_value())
    name = f"e2e-{secrets.token_hex(3)}"
    numbers = [f"+1555000010{n}" for n in range(6)]
    await campaign(store, name, DialMode.PREDICTIVE, numbers)
    person = greeting_pcap(tmp_path / "person.pcap", lead_ms=200, tone_ms=700, silence_ms=9000)
    phones = [agent_phone(lab, sipp, "acme-alice"), agent_phone(lab, sipp, "acme-bob")]
    customers = sipp.customer_answers(port=CUSTOMER_PORT, pcap=person, ring_ms=300, calls=len(numbers))
    try:
        offered = await drive(lab, store, name, phones, lambda command, attempt: None)
        await asyncio.to_thread(customers.wait, 40)
        customers.check()
        rows, attempts, ledger = await rows_of(store, name)
    finally:
        for phone in phones:
            (await asyncio.to_thread(phone.unregister)).check()
        await store.dispose()
    assert [(r.state, r.attempts) for r in rows] == [(RecordState.DONE, 1)] * len(numbers)
    assert len(offered) == len(numbers)
    assert set(offered) == {"acme-alice", "acme-bob"}
    assert [a.outcome for a in attempts] == ["human"] * len(numbers)
    assert [e.entry for e in ledger] == ["live"] * len(numbers)


def agent_phone(lab: Any, sipp: Sipp, endpoint: str) -> SippAgent:
    password = next(a.password for a in lab.agents if a.endpoint == endpoint)
    phone = SippAgent(sipp, endpoint, password)
    phone.register().check()
    return phone


# -- worked through the ACD, inside `voice run` -----------------------------------------------------------


@dataclass
class VoiceRun:
    rows: list[Any]
    attempts: list[Any]
    ledger: list[Any]
    calls: dict[int, Any]  # attempt id -> its interaction
    legs: dict[str, list[tuple[str, float, float]]]  # endpoint -> (channel id, first seen, last seen)


async def work_in_voice_run(lab: Any, sipp: Sipp, tmp_path: Path, mode: DialMode, numbers: list[str]) -> VoiceRun:
    """`voice run` works the campaign (started with `campaign start`, which only flips its row); the test tells
    the dialer nothing: the ACD knows who is free. alice and bob answer whatever rings them; every customer is
    a person who hangs up 3 s after reaching the agent; one inbound caller (IVR, 1: sales-it) calls once the
    first campaign talk begins. Returns once every record is final and the inbound call is over; meanwhile the
    lab's channels are sampled: an agent with two calls at once fails at once."""
    settings = lab.settings
    name = f"e2e-{secrets.token_hex(3)}"
    tvox = Tvox(lab.config_path)
    csv_file = tmp_path / "list.csv"
    csv_file.write_text("number\n" + "".join(f"{n}\n" for n in numbers))
    add = ["campaign", "add", "-t", "acme", name, "--mode", mode.value, "--queue", "sales-it"]
    await asyncio.to_thread(tvox.ok, *add, "--window", "mon-sun 00:00-24:00", "--ring-s", "15")
    await asyncio.to_thread(tvox.ok, "campaign", "import-list", "-t", "acme", name, str(csv_file))
    person = greeting_pcap(tmp_path / "person.pcap", lead_ms=200, tone_ms=700, silence_ms=9000)
    customers = sipp.customer_answers(port=VOICE_CUSTOMER_PORT, pcap=person, ring_ms=300, calls=len(numbers))
    phones = {endpoint: agent_phone(lab, sipp, endpoint) for endpoint in ("acme-alice", "acme-bob")}
    answering = [sipp.answer(p.user, port=p.port, ring_ms=300, calls=8) for p in phones.values()]
    legs: dict[str, list[tuple[str, float, float]]] = {}
    inbound: list[Any] = []
    try:
        async with running_voice(settings, Clock(datetime.now(UTC))) as app:
            for endpoint in phones:
                await online(lab, endpoint)
            campaigns = app.campaigns
            assert campaigns is not None
            await asyncio.to_thread(tvox.ok, "campaign", "start", "-t", "acme", name)
            deadline = time.monotonic() + 120
            talk_seen: dict[str, float] = {}
            while True:
                now = time.time()
                seen: dict[str, list[str]] = {}
                for channel in lab.channels():
                    endpoint = channel["name"].removeprefix("PJSIP/").rpartition("-")[0]
                    if endpoint in phones:
                        seen.setdefault(endpoint, []).append(channel["id"])
                for endpoint, ids in seen.items():
                    assert len(ids) == 1, f"{endpoint} has two calls at once: {ids}"
                    spans = legs.setdefault(endpoint, [])
                    if spans and spans[-1][0] == ids[0]:
                        spans[-1] = (ids[0], spans[-1][1], now)
                    else:
                        spans.append((ids[0], now, now))
                desks = list(campaigns.desks.values())
                for desk in desks:  # each customer hangs up 3 s after reaching the agent
                    for call in list(desk.lines.by_line.values()):
                        if call.bridge_id is not None:
                            first = talk_seen.setdefault(call.channel_id, now)
                            if now - first > 3:
                                with contextlib.suppress(AriError):
                                    await app.ari.channels.hangup(call.channel_id)
                if not inbound and any(c.bridge_id for d in desks for c in d.lines.by_line.values()):
                    inbound.append(caller(sipp, hold_ms=12000))  # an inbound call while the campaign runs
                over = bool(desks) and all(r.final for r in desks[0].runner.dialer.book.records.values())
                if over and inbound and inbound[0].process.poll() is not None:
                    break
                assert time.monotonic() < deadline, [d.runner.dialer.book.records for d in desks]
                await asyncio.sleep(0.2)
            (await asyncio.to_thread(inbound[0].wait, 40)).check()
            await asyncio.to_thread(tvox.ok, "campaign", "stop", "-t", "acme", name)
        await asyncio.to_thread(customers.wait, 40)
        customers.check()
        store = Store.from_url(settings.database.url.get_secret_value())
        try:
            rows, attempts, ledger = await rows_of(store, name)
            calls = await interactions_of(store, attempts)
        finally:
            await store.dispose()
    finally:
        for run in answering:
            run.process.kill()
        for phone in phones.values():
            (await asyncio.to_thread(phone.unregister)).check()
    return VoiceRun(rows, attempts, ledger, calls, legs)


def assert_one_call_per_agent(run: VoiceRun) -> None:
    """Each agent's campaign calls (from the line dialled, or the agent given, to the end) never overlap; no
    campaign call of the agent on the inbound call (its leg is the ACD's, not a campaign's) began meanwhile."""
    for agent in ("acme-alice", "acme-bob"):
        calls = sorted((a.started_at.timestamp(), a.ended_at.timestamp()) for a in run.attempts if a.agent == agent)
        assert all(end <= start for (_, end), (start, _) in itertools.pairwise(calls)), (agent, calls)
    inbound_legs = [
        (endpoint, first, last)
        for endpoint, spans in run.legs.items()
        for channel_id, first, last in spans
        if channel_id.startswith(AGENT_LEG)
    ]
    assert len(inbound_legs) == 1, run.legs
    endpoint, first, last = inbound_legs[0]
    for a in run.attempts:
        if a.agent == endpoint:
            assert not (first <= a.started_at.timestamp() <= last), (a.started_at, first, last)


async def test_a_progressive_campaign_worked_by_the_acd_inside_voice_run(
    acme: Any,  # noqa: F811
    sipp: Sipp,
    tmp_path: Path,
) -> None:
    """Progressive: the ACD reserves the agent its strategy picks before each line is dialled."""
    numbers = [f"+3906987654{n}" for n in range(6)]  # Rome: acme is an IT tenant
    run = await work_in_voice_run(acme, sipp, tmp_path, DialMode.PROGRESSIVE, numbers)
    assert [(r.state, r.attempts) for r in run.rows] == [(RecordState.DONE, 1)] * len(numbers)
    assert [a.outcome for a in run.attempts] == ["human"] * len(numbers)
    assert {a.agent for a in run.attempts} == {"acme-alice", "acme-bob"}, "the ACD gave the calls to both agents"
    assert_one_call_per_agent(run)
    assert_calls_are_interactions(run.attempts, run.calls, "acme")
    # The desktop's script panel finds each call's interaction by the ACD item it was offered.
    assert all(c.external_id.startswith(f"campaign-{run.attempts[0].campaign_id}-") for c in run.calls.values())


async def test_a_predictive_campaign_worked_by_the_acd_inside_voice_run(
    acme: Any,  # noqa: F811
    sipp: Sipp,
    tmp_path: Path,
) -> None:
    """Predictive: lines paced on the ACD's count of free agents; each person who answers is a work item the
    ACD routes to a free agent of sales-it within the 2 s (none is abandoned: the ledger has no room yet)."""
    numbers = [f"+3906987655{n}" for n in range(6)]
    run = await work_in_voice_run(acme, sipp, tmp_path, DialMode.PREDICTIVE, numbers)
    assert [(r.state, r.attempts) for r in run.rows] == [(RecordState.DONE, 1)] * len(numbers)
    assert [a.outcome for a in run.attempts] == ["human"] * len(numbers)
    assert [e.entry for e in run.ledger] == ["live"] * len(numbers)
    assert {a.agent for a in run.attempts} == {"acme-alice", "acme-bob"}
    assert_one_call_per_agent(run)
    assert_calls_are_interactions(run.attempts, run.calls, "acme")
    assert len(run.calls) == len(numbers)
