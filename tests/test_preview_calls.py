"""A preview record's click-to-call brings its outcome back to the record, on SQLite and PostgreSQL: the agent
dials the record shown (tvoxcc.campaigns.preview), the voice service's store side carries the call out
(tvoxcc.agentcalls.store, as tvoxcc.voice.agent_calls drives it), and the record follows the campaign's retry
rules as a dialer's line's would — busy, then not placed, then talked with a disposition, then exhausted."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from tests.test_web_agent_calls import login  # noqa: F401  (the login fixture: the seeded world)
from tests.test_web_preview import NUMBERS, preview_campaign, records
from tests.web_clients import Login
from tests.web_world import NOW
from tvoxcc.agentcalls.model import Refusal
from tvoxcc.agentcalls.store import AgentCallBook, Prepared
from tvoxcc.campaigns import preview
from tvoxcc.campaigns import store as cs
from tvoxcc.dispositions.store import set_disposition
from tvoxcc.interactions import Outcome
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


async def _dial(store: Store, now: datetime) -> int:
    """alice asks for the record shown to her and dials it: the click-to-call's row."""
    async with store.session() as s:
        acme = await s.scalar(select(m.Tenant.id).where(m.Tenant.name == "acme"))
    assert acme is not None
    async with store.tenant(acme) as s:  # as the web app's route (tvoxcc.web.preview)
        tenant = (await s.execute(select(m.Tenant).where(m.Tenant.name == "acme"))).scalar_one()
        alice = (await s.execute(select(m.Agent).where(m.Agent.name == "alice"))).scalar_one()
        shown = await preview.offer(s, tenant, alice, now)
        assert shown is not None and shown.number == NUMBERS[0]
        call_id, refused = await preview.dial(s, tenant, alice, shown.record, now)
        await s.commit()
    assert refused is None
    assert (await records(store))[NUMBERS[0]].state == "dialing"
    return call_id


async def _customer_dialled(book: AgentCallBook, call_id: int, now: datetime) -> tuple[Prepared, int]:
    """The voice service takes the request, alice's phone answers, the customer's line is dialled."""
    (claimed,) = await book.claim_requests(now)
    assert claimed.row_id == call_id
    prepared = await book.take_up(call_id, now)
    assert isinstance(prepared, Prepared)
    return prepared, await book.dialing(prepared, f"chan-{call_id}", now)


async def _record(store: Store) -> tuple[str, int, str | None, datetime | None]:
    row = (await records(store))[NUMBERS[0]]
    return row.state, row.attempts, row.last_outcome, row.next_at


async def _attempts(store: Store) -> list[tuple[str | None, str | None]]:
    async with store.session() as s:
        rows = await s.execute(
            select(m.CampaignAttempt.outcome, m.CampaignAttempt.disposition).order_by(m.CampaignAttempt.id)
        )
        return [(outcome, disposition) for outcome, disposition in rows.all()]


async def test_a_preview_dials_outcome_follows_the_campaigns_retry_rules(store: Store, login: Login) -> None:  # noqa: F811
    await login("al")  # the world: acme, alice in sales-it
    await preview_campaign(store)  # max 3 attempts, busy 600 s, no answer 3600 s, call-later 3600 s
    await cs.add_do_not_call(store, "acme", NUMBERS[1:], "asked")  # one record to follow
    async with store.session() as s:
        acme = await s.scalar(select(m.Tenant.id).where(m.Tenant.name == "acme"))
        s.add(m.ActivityCode(tenant_id=acme, code="91", name="call-later", kind="disposition"))
        await s.commit()
    book = AgentCallBook(store)

    # The customer's line is busy: due again in 600 s, one attempt.
    call = await _dial(store, NOW)
    prepared, interaction = await _customer_dialled(book, call, NOW)
    ended = NOW + timedelta(seconds=8)
    await book.ended(prepared, interaction, ended, Outcome.NO_ANSWER, "busy", cause=17)
    assert await _record(store) == ("pending", 1, "busy", ended + timedelta(seconds=600))
    async with store.session() as s:
        tenant = (await s.execute(select(m.Tenant).where(m.Tenant.name == "acme"))).scalar_one()
        alice = (await s.execute(select(m.Agent).where(m.Agent.name == "alice"))).scalar_one()
        assert await preview.offer(s, tenant, alice, ended + timedelta(seconds=599)) is None  # not due yet

    # alice's phone never answers the click-to-call: the customer was not dialled, no attempt, due at once.
    later = ended + timedelta(seconds=600)
    call = await _dial(store, later)
    (claimed,) = await book.claim_requests(later)
    await book.refuse(claimed.row_id, Refusal.AGENT_NO_ANSWER, later + timedelta(seconds=30))
    assert await _record(store) == ("pending", 1, "busy", later + timedelta(seconds=30))
    assert await _attempts(store) == [("busy", None)]

    # Talked: the disposition given during the talk drives the record when the talk ends.
    talk = later + timedelta(seconds=60)
    call = await _dial(store, talk)
    prepared, interaction = await _customer_dialled(book, call, talk)
    await book.answered(prepared, interaction, talk + timedelta(seconds=5))
    assert (await _record(store))[0] == "connected"
    given = await set_disposition(store, "acme", "alice", "91", talk + timedelta(seconds=40))
    assert given.record_state == "connected"  # the talk is not over: its end applies the rule
    over = talk + timedelta(seconds=50)
    await book.ended(prepared, interaction, over, Outcome.ANSWERED, "answered")
    assert await _record(store) == ("pending", 2, "call-later", over + timedelta(hours=1))
    assert await _attempts(store) == [("busy", None), ("human", "call-later")]

    # No answer on the third attempt: the campaign's maximum, the record is exhausted.
    last = over + timedelta(hours=1)
    call = await _dial(store, last)
    prepared, interaction = await _customer_dialled(book, call, last)
    await book.ended(prepared, interaction, last + timedelta(seconds=25), Outcome.NO_ANSWER, "no-answer", cause=19)
    assert (await _record(store))[:3] == ("exhausted", 3, "no-answer")
    assert await _attempts(store) == [("busy", None), ("human", "call-later"), ("no-answer", None)]
