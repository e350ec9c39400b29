"""Campaign calls are outbound interactions (SQLite and PostgreSQL): connected, abandoned and machine lines.

A runner is driven as the voice service drives it (its events in, its commands checked); the rows it leaves
are read as the journey, Insight and the desktop's script panel read them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.chat_world import imported_tenant
from tvoxcc.campaigns import store as cs
from tvoxcc.campaigns.contact_list import ListedRecord
from tvoxcc.campaigns.events import Abandon, AgentReady, CallEnded, Connect, ConnectFailed, Dial, LineResult
from tvoxcc.campaigns.model import CampaignStatus, DialMode, LineOutcome
from tvoxcc.campaigns.runner import CampaignRunner
from tvoxcc.campaigns.spec import CampaignSettings, parse_window
from tvoxcc.insight.api import build_report
from tvoxcc.insight.model import Dimension
from tvoxcc.interactions import Direction, Outcome
from tvoxcc.journey.api import journey_for
from tvoxcc.journey.entries import Call
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # Monday 11:00 in Rome
T0 = NOW.timestamp()
DOC = {
    "tenant": {"name": "campy", "country": "IT", "timezone": "Europe/Rome"},
    "services": [{"name": "sales", "channels": ["voice"], "dids": ["5559101"]}],
    "queues": [{"name": "sales-q", "service": "sales"}],
    "agents": [{"name": "ugo", "extension": "951", "queues": ["sales-q"]}],
}
NUMBERS = ["+390212345678", "+390212345679", "+390212345680"]


async def _runner(store: Store, mode: DialMode) -> tuple[int, CampaignRunner, int]:
    tenant = await imported_tenant(store, DOC)
    async with store.tenant(tenant) as session:
        contact = m.Contact(display_name="Carla Bianchi")
        session.add(contact)
        await session.flush()
        session.add(m.ContactPhone(contact_id=contact.id, number=NUMBERS[0]))
        await session.commit()
        contact_id = contact.id
    settings = CampaignSettings(window=parse_window("mon-sun 08:00-21:00"))
    await cs.save_campaign(store, "campy", "spring", cs.CampaignDraft(mode=mode, settings=settings), new=True)
    listed = [ListedRecord(n, {"name": f"c{i}"}, f"list.csv:{i + 2}") for i, n in enumerate(NUMBERS)]
    await cs.import_records(store, "campy", "spring", listed, NOW)
    async with store.tenant(tenant) as session:
        campaign = (await session.execute(select(m.Campaign))).scalar_one()
        campaign.status = CampaignStatus.RUNNING.value
        await session.commit()
    return tenant, await CampaignRunner.load(store, "campy", "spring", T0), contact_id


async def test_a_connected_call_is_the_agents_outbound_interaction_in_the_journey_and_insight(store: Store) -> None:
    tenant, runner, contact_id = await _runner(store, DialMode.PROGRESSIVE)
    runner.item_for = lambda line, agent: f"campaign-{runner.campaign_id}-item{line}"  # as the desk says
    (dial,) = [c for c in await runner.handle(AgentReady("campy-ugo"), T0) if isinstance(c, Dial)]
    assert dial.number == NUMBERS[0]
    (connect,) = [
        c for c in await runner.handle(LineResult(dial.line, LineOutcome.HUMAN), T0 + 8) if isinstance(c, Connect)
    ]
    assert connect.agent == "campy-ugo"
    await runner.handle(CallEnded(dial.line), T0 + 98)

    async with store.tenant(tenant) as session:
        (interaction,) = (await session.execute(select(m.Interaction))).scalars().all()
        attempt = (await session.execute(select(m.CampaignAttempt))).scalar_one()
        agent = await session.scalar(select(m.Agent.id).where(m.Agent.name == "ugo"))
        timeline = await journey_for(session, str(contact_id))
    assert attempt.interaction_id == interaction.id
    assert (interaction.direction, interaction.channel, interaction.outcome) == (
        Direction.OUTBOUND,
        "voice",
        "answered",
    )
    assert (interaction.agent_id, interaction.contact_id, interaction.to_address) == (agent, contact_id, NUMBERS[0])
    assert interaction.external_id == f"campaign-{runner.campaign_id}-item{dial.line}"  # the script panel finds it
    (call,) = [e for e in timeline.entries if isinstance(e, Call)]
    assert (call.direction, call.agent, call.outcome, call.talk_s) == ("outbound", "ugo", "answered", 90.0)

    report = await build_report(store, "campy", NOW.date(), NOW.date(), Dimension.AGENT, plots=False)
    ((_, figures),) = [(key, f) for key, f in report.rows.items() if key[0] == "ugo"]
    assert (figures.outbound, figures.outbound_answered, figures.outbound_talk_s) == (1, 1, 90.0)


async def test_a_line_its_first_agents_phone_refused_is_one_interaction_answered_by_the_next(store: Store) -> None:
    tenant, runner, _ = await _runner(store, DialMode.PROGRESSIVE)
    (dial,) = [c for c in await runner.handle(AgentReady("campy-ugo"), T0) if isinstance(c, Dial)]
    assert Connect(dial.line, "campy-ugo") in await runner.handle(LineResult(dial.line, LineOutcome.HUMAN), T0 + 8)
    assert await runner.handle(ConnectFailed(dial.line), T0 + 8.2) == []  # Asterisk refused the agent leg
    assert await runner.handle(AgentReady("campy-ugo"), T0 + 9) == [Connect(dial.line, "campy-ugo")]
    await runner.handle(CallEnded(dial.line), T0 + 60)

    async with store.tenant(tenant) as session:
        (interaction,) = (await session.execute(select(m.Interaction))).scalars().all()
        attempt = (await session.execute(select(m.CampaignAttempt))).scalar_one()
    assert attempt.interaction_id == interaction.id
    assert interaction.outcome == "answered"
    assert interaction.ended_at is not None and interaction.answered_at is not None
    assert (interaction.ended_at - interaction.answered_at).total_seconds() == 51  # from the second connect


async def test_abandoned_and_machine_lines_are_interactions_with_no_agent(store: Store) -> None:
    tenant, runner, _ = await _runner(store, DialMode.PREDICTIVE)
    runner.dialer.acd_free = (2, 2)  # the ACD's view: two agents free, so lines are dialled
    dials = [c for c in await runner.tick(T0) if isinstance(c, Dial)]
    assert len(dials) >= 2
    first, second = dials[0], dials[1]
    await runner.handle(LineResult(first.line, LineOutcome.MACHINE), T0 + 6)
    await runner.handle(LineResult(second.line, LineOutcome.HUMAN), T0 + 7)
    abandons = [c for c in await runner.tick(T0 + 10) if isinstance(c, Abandon)]  # no agent came within 2 s
    assert [a.line for a in abandons] == [second.line]

    async with store.tenant(tenant) as session:
        rows = (await session.execute(select(m.Interaction).order_by(m.Interaction.id))).scalars().all()
        attempts = {a.number: a for a in (await session.execute(select(m.CampaignAttempt))).scalars()}
    by_number = {r.to_address: r for r in rows}
    assert set(by_number) == {first.number, second.number}  # lines still ringing are no interaction yet
    assert by_number[first.number].outcome == Outcome.MACHINE
    assert by_number[second.number].outcome == Outcome.ABANDONED
    for number, row in by_number.items():
        assert (row.direction, row.agent_id, row.answered_at) == (Direction.OUTBOUND, None, None)
        assert row.ended_at == NOW + timedelta(seconds=6 if number == first.number else 10)
        assert attempts[number].interaction_id == row.id
    report = await build_report(store, "campy", NOW.date(), NOW.date(), Dimension.TENANT, plots=False)
    assert (report.total.outbound, report.total.outbound_answered) == (2, 0)
