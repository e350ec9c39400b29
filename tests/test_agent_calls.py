"""Agents' own calls: the number checks (pure), the rows and outbound interaction (SQLite and PostgreSQL), and
the hold in the one ACD (an agent on their own call gets no queue offer; their own pause stays theirs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.chat_world import imported_tenant
from tvoxcc.acd import AcdService, NewItem, StoreConfig
from tvoxcc.agentcalls.hold import OUTBOUND_PAUSE, AgentHold
from tvoxcc.agentcalls.model import Phase, Refusal, clean_number, dialled_number, refusal
from tvoxcc.agentcalls.store import AgentCallBook, Prepared, Refused, request
from tvoxcc.campaigns.store import add_do_not_call
from tvoxcc.insight.metrics import compute
from tvoxcc.insight.model import Contact, Dataset, Dimension, Params
from tvoxcc.interactions import Direction, Outcome
from tvoxcc.journey.api import journey_for
from tvoxcc.journey.entries import Call
from tvoxcc.queues import model as q
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROUTE = {"endpoint": "PJSIP/{number}@dialy-pstn", "caller_id": "5559000", "ring_seconds": 20}
DOC = {
    "tenant": {"name": "dialy", "country": "IT"},
    "services": [{"name": "sales", "channels": ["voice"], "dids": ["5559001"]}],
    "queues": [{"name": "sales-q", "service": "sales"}],
    "agents": [{"name": "ugo", "extension": "951", "queues": ["sales-q"]}],
    "outbound": ROUTE,
}


def test_the_number_after_the_prefix_is_checked_before_anything_is_dialled() -> None:
    assert dialled_number("90212345", "9") == "0212345"
    assert dialled_number("9", "9") == ""
    assert clean_number(" +39 (02) 123-45.67 ") == "+39021234567"
    assert refusal("", do_not_call=(), has_route=True) is Refusal.EMPTY_NUMBER
    assert refusal("12", do_not_call=(), has_route=True) is Refusal.INVALID_NUMBER
    assert refusal("02a45", do_not_call=(), has_route=True) is Refusal.INVALID_NUMBER
    assert refusal("0212345", do_not_call=(), has_route=False) is Refusal.NO_ROUTE
    assert refusal("15550001", do_not_call={"+15550001"}, has_route=True) is Refusal.DO_NOT_CALL
    assert refusal("+15550001", do_not_call={"15550001"}, has_route=True) is Refusal.DO_NOT_CALL
    assert refusal("+15550002", do_not_call={"+15550001"}, has_route=True) is None
    assert all(reason.message for reason in Refusal)


async def test_a_dial_out_is_an_outbound_interaction_of_the_agent(store: Store) -> None:
    tenant = await imported_tenant(store, DOC)
    book = AgentCallBook(store)
    prepared = await book.prepare("dialy", "ugo", "+390212345", NOW)
    assert isinstance(prepared, Prepared)
    assert (prepared.agent, prepared.route.dial(prepared.number)) == ("dialy-ugo", "PJSIP/+390212345@dialy-pstn")
    interaction_id = await book.dialing(prepared, "chan-1", NOW)
    await book.answered(prepared, interaction_id, NOW + timedelta(seconds=4))
    await book.ended(prepared, interaction_id, NOW + timedelta(seconds=34), Outcome.ANSWERED, "answered")
    async with store.tenant(tenant) as session:
        interaction = await session.get(m.Interaction, interaction_id)
        agent = (await session.execute(select(m.Agent).where(m.Agent.name == "ugo"))).scalar_one()
        row = await session.get(m.AgentCall, prepared.row_id)
        events = (await session.execute(select(m.InteractionEvent.kind, m.InteractionEvent.data))).all()
    assert interaction is not None and row is not None
    assert (interaction.direction, interaction.agent_id, interaction.to_address) == (
        Direction.OUTBOUND,
        agent.id,
        "+390212345",
    )
    assert (interaction.from_address, interaction.outcome) == ("5559000", Outcome.ANSWERED)
    assert interaction.answered_at == NOW + timedelta(seconds=4)
    assert (row.phase, row.interaction_id) == (Phase.ENDED, interaction_id)
    assert [kind for kind, _ in events] == ["dialing", "ended"]
    assert events[1][1]["talk_s"] == 30.0


async def test_refusals_are_stored_with_their_reason(store: Store) -> None:
    tenant = await imported_tenant(store, DOC)
    await add_do_not_call(store, "dialy", ["+15550001", "+390212345678"], "asked")
    book = AgentCallBook(store)
    assert await book.prepare("dialy", "nobody", "0212345", NOW) == Refused(None, Refusal.UNKNOWN_AGENT)
    empty = await book.prepare("dialy", "ugo", "", NOW)
    listed = await book.prepare("dialy", "ugo", "15550001", NOW)
    national = await book.prepare("dialy", "ugo", "0212345678", NOW)  # read in the tenant's country (IT)
    assert isinstance(empty, Refused) and empty.reason is Refusal.EMPTY_NUMBER
    assert isinstance(listed, Refused) and listed.reason is Refusal.DO_NOT_CALL
    assert isinstance(national, Refused) and national.reason is Refusal.DO_NOT_CALL
    async with store.tenant(tenant) as session:
        rows = (await session.execute(select(m.AgentCall).order_by(m.AgentCall.id))).scalars().all()
        interactions = (await session.execute(select(m.Interaction))).scalars().all()
        tenant_row = await session.get(m.Tenant, tenant)
        assert tenant_row is not None
        tenant_row.outbound = None
        await session.commit()
    assert [(r.phase, r.refused) for r in rows] == [
        ("refused", "empty-number"),
        ("refused", "do-not-call"),
        ("refused", "do-not-call"),
    ]
    assert not interactions  # nothing was dialled
    no_route = await book.prepare("dialy", "ugo", "0212345", NOW)
    assert isinstance(no_route, Refused) and no_route.reason is Refusal.NO_ROUTE


async def test_a_desktop_request_is_claimed_once_then_checked_again_when_the_agent_answers(store: Store) -> None:
    tenant = await imported_tenant(store, DOC)
    async with store.tenant(tenant) as session:
        tenant_row = await session.get(m.Tenant, tenant)
        agent = (await session.execute(select(m.Agent))).scalar_one()
        assert tenant_row is not None
        row_id, reason = await request(session, tenant_row, agent, "+390299999", NOW, contact_id=None)
        await session.commit()
    assert reason is None
    book = AgentCallBook(store)
    claimed = await book.claim_requests(NOW)
    assert [(c.row_id, c.agent, c.number) for c in claimed] == [(row_id, "dialy-ugo", "+390299999")]
    assert await book.claim_requests(NOW) == []  # taken: never rung twice
    await add_do_not_call(store, "dialy", ["+390299999"], "asked meanwhile")
    assert await book.take_up(row_id, NOW) == Refused(row_id, Refusal.DO_NOT_CALL)
    async with store.tenant(tenant) as session:
        tenant_row = await session.get(m.Tenant, tenant)
        assert tenant_row is not None
        late, _ = await request(session, tenant_row, agent, "+390288888", NOW, contact_id=None)
        await session.commit()
    assert await book.claim_requests(NOW + timedelta(seconds=61)) == []  # nobody took it for a minute: never rung
    async with store.tenant(tenant) as session:
        row = await session.get(m.AgentCall, late)
    assert row is not None and (row.phase, row.refused) == ("refused", "expired")


async def test_the_acd_offers_nothing_to_an_agent_on_their_own_call(store: Store) -> None:
    tenant = await imported_tenant(store, DOC)
    acd = AcdService(store, StoreConfig(store))
    assert await acd.start(wait=False)
    try:
        hold = AgentHold(acd)
        acd.login("dialy-ugo")
        assert hold.hold("dialy-ugo")
        assert acd.agent_state("dialy-ugo") == (q.AgentStatus.PAUSED, OUTBOUND_PAUSE)
        item = acd.submit(NewItem("dialy/sales-q", q.Channel.VOICE, tenant))
        view = acd.item_view(item)
        assert view is not None and view.status is q.ItemStatus.WAITING  # not offered to the held agent
        assert hold.release("dialy-ugo")
        view = acd.item_view(item)
        assert view is not None and view.status is q.ItemStatus.OFFERED  # offered as soon as the call ended
        acd.accept(item, "dialy-ugo")
        assert hold.busy("dialy-ugo")  # on an ACD call: a second line must not start another
        acd.complete(item)
        acd.end_wrapup("dialy-ugo")
        acd.pause("dialy-ugo", "lunch")
        assert not hold.hold("dialy-ugo")  # already paused: no offer can reach them
        assert not hold.release("dialy-ugo")  # their own pause stays theirs
        assert acd.agent_state("dialy-ugo") == (q.AgentStatus.PAUSED, "lunch")
        assert not hold.hold("nobody")
    finally:
        await acd.stop()


def test_insight_counts_outbound_calls_by_the_agent_who_made_them() -> None:
    placed = (
        Contact(1, "voice", NOW, "outbound", agent="ugo", answered_at=NOW, ended_at=NOW + timedelta(seconds=90)),
        Contact(2, "voice", NOW, "outbound", agent="ugo", ended_at=NOW + timedelta(seconds=20)),  # no answer
        Contact(3, "voice", NOW, "inbound", queue="sales-q", agent="ugo", answered_at=NOW, ended_at=NOW),
    )
    params = Params(NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    rows = compute(Dataset(placed), params, Dimension.AGENT)
    ((_, figures),) = [(key, f) for key, f in rows.items() if key[0] == "ugo"]
    assert (figures.outbound, figures.outbound_answered, figures.outbound_talk_s) == (2, 1, 90.0)
    assert figures.offered == 1  # the inbound call only: outbound calls are not offered work


async def test_a_restart_ends_the_calls_left_open_and_gives_the_agents_back(store: Store) -> None:
    tenant = await imported_tenant(store, DOC)
    book = AgentCallBook(store)
    prepared = await book.prepare("dialy", "ugo", "+390212345", NOW)
    assert isinstance(prepared, Prepared)
    interaction_id = await book.dialing(prepared, "chan-left", NOW)
    acd = AcdService(store, StoreConfig(store))
    assert await acd.start(wait=False)
    try:
        hold = AgentHold(acd)
        acd.login("dialy-ugo")
        assert hold.hold("dialy-ugo")  # the previous run held him, then stopped
        assert await book.left_open(NOW + timedelta(seconds=5)) == 1
        assert hold.release_all() == ["dialy-ugo"]
        assert acd.agent_state("dialy-ugo") == (q.AgentStatus.AVAILABLE, None)
        assert hold.release_all() == []
    finally:
        await acd.stop()
    async with store.tenant(tenant) as session:
        interaction = await session.get(m.Interaction, interaction_id)
        row = await session.get(m.AgentCall, prepared.row_id)
    assert interaction is not None and interaction.outcome == Outcome.INTERRUPTED
    assert row is not None and row.phase == Phase.ENDED
    assert await book.left_open(NOW) == 0


async def test_a_known_customer_finds_the_agents_call_in_their_journey(store: Store) -> None:
    tenant = await imported_tenant(store, DOC)
    async with store.tenant(tenant) as session:
        contact = m.Contact(display_name="Carla Bianchi")
        session.add(contact)
        await session.flush()
        session.add(m.ContactPhone(contact_id=contact.id, number="+390212345678"))
        await session.commit()
        contact_id = contact.id
    book = AgentCallBook(store)
    prepared = await book.prepare("dialy", "ugo", "0212345678", NOW)  # dialled as the agent reads it
    assert isinstance(prepared, Prepared)
    interaction_id = await book.dialing(prepared, "chan-journey", NOW)
    await book.answered(prepared, interaction_id, NOW + timedelta(seconds=5))
    await book.ended(prepared, interaction_id, NOW + timedelta(seconds=65), Outcome.ANSWERED, "answered")
    async with store.tenant(tenant) as session:
        timeline = await journey_for(session, str(contact_id))
    (call,) = [e for e in timeline.entries if isinstance(e, Call)]
    assert (call.interaction_id, call.direction, call.agent, call.outcome, call.talk_s) == (
        interaction_id, "outbound", "ugo", "answered", 60.0,
    )  # fmt: skip
