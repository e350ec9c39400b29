"""Dispositions on SQLite and PostgreSQL: the agent's last contact gets the code; a campaign call's record goes
through the campaign's retry rule for it, and the running campaign dials it again when the rule says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tvoxcc.campaigns import records as rec
from tvoxcc.campaigns import store as cs
from tvoxcc.campaigns.contact_list import ListedRecord
from tvoxcc.campaigns.model import CampaignStatus, RecordState, RetryRules
from tvoxcc.campaigns.runner import CampaignRunner
from tvoxcc.campaigns.spec import CampaignSettings, parse_window
from tvoxcc.dispositions.core import DispositionError, Refused, Target
from tvoxcc.dispositions.store import dispositions, set_disposition
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York


async def _acme(store: Store) -> dict[str, int]:
    async with store.session() as s:
        tenant = m.Tenant(name="acme", timezone="America/New_York", country="US")
        s.add(tenant)
        await s.flush()
        service = m.Service(tenant_id=tenant.id, name="sales", channels=["voice"])
        s.add(service)
        for code, name, kind in (
            ("1", "lunch", "pause"),
            ("90", "sale", "disposition"),
            ("91", "call-later", "disposition"),
        ):
            s.add(m.ActivityCode(tenant_id=tenant.id, code=code, name=name, kind=kind))
        agents = {}
        for name, ext in (("mario", "201"), ("anna", "202")):
            agent = m.Agent(tenant_id=tenant.id, name=name, extension=ext, sip_password="x" * 12, capacity={"voice": 1})
            s.add(agent)
            await s.flush()
            agents[name] = agent.id
        await s.flush()
        calls = []
        for minutes_ago in (30, 5):  # mario's two calls: the later one is in wrap-up
            at = NOW - timedelta(minutes=minutes_ago)
            call = m.Interaction(
                tenant_id=tenant.id, channel="voice", service_id=service.id, agent_id=agents["mario"],
                offered_at=at, answered_at=at + timedelta(seconds=5), ended_at=at + timedelta(minutes=2),
            )  # fmt: skip
            s.add(call)
            await s.flush()
            calls.append(call.id)
        await s.commit()
        return {"tenant": tenant.id, "old": calls[0], "last": calls[1]}


async def _code_of(store: Store, interaction: int) -> str | None:
    async with store.session() as s:
        return await s.scalar(
            select(m.ActivityCode.name)
            .join(m.Interaction, m.Interaction.activity_code_id == m.ActivityCode.id)
            .where(m.Interaction.id == interaction)
        )


async def test_the_agents_last_interaction_gets_the_disposition(store: Store) -> None:
    ids = await _acme(store)
    assert await dispositions(store, "acme") == [{"code": "90", "name": "sale"}, {"code": "91", "name": "call-later"}]
    done = await set_disposition(store, "acme", "mario", "90", NOW)
    assert (done.name, done.target, done.row_id, done.record_state) == ("sale", Target.INTERACTION, ids["last"], None)
    assert (await _code_of(store, ids["last"]), await _code_of(store, ids["old"])) == ("sale", None)
    for agent, code, reason in (
        ("mario", "1", Refused.UNKNOWN_CODE),  # a pause code is not a disposition
        ("mario", "77", Refused.UNKNOWN_CODE),
        ("anna", "90", Refused.NO_CONTACT),
        ("nobody", "90", Refused.UNKNOWN_AGENT),
    ):
        with pytest.raises(DispositionError) as refused:
            await set_disposition(store, "acme", agent, code, NOW)
        assert refused.value.reason is reason, (agent, code)
    assert await _code_of(store, ids["last"]) == "sale"  # a refusal changes nothing


def test_a_disposition_after_the_talk_follows_the_retry_rule() -> None:
    rules = RetryRules(max_attempts=2, dispositions={"call-later": 3600.0})
    record = rec.Record(1, "+12125550000", (), RecordState.DONE, 1, 0.0, "talked")
    rec.disposed(record, "call-later", 100.0, rules)
    assert (record.state, record.next_at, record.last_outcome) == (RecordState.PENDING, 3700.0, "call-later")
    with pytest.raises(rec.TransitionError):  # pending again: a second disposition does not move it
        rec.disposed(record, "sale", 200.0, rules)
    final = rec.Record(2, "+12125550001", (), RecordState.DONE, 1, 0.0, "talked")
    rec.disposed(final, "sale", 100.0, rules)  # no rule for it: the record is done
    assert (final.state, final.last_outcome) == (RecordState.DONE, "sale")
    spent = rec.Record(3, "+12125550002", (), RecordState.DONE, 2, 0.0, "talked")
    rec.disposed(spent, "call-later", 100.0, rules)  # its attempts are spent
    assert spent.state is RecordState.EXHAUSTED


async def test_a_campaign_calls_disposition_drives_its_record_and_the_running_campaign_dials_it_again(
    store: Store,
) -> None:
    await _acme(store)
    settings = CampaignSettings(window=parse_window("mon-sun 08:00-22:00")).with_retries([("call-later", 3600.0)], 3)
    await cs.save_campaign(store, "acme", "spring", cs.CampaignDraft(settings=settings), new=True)
    numbers = ["+12125550100", "+12125550101"]
    listed = [ListedRecord(n, {}, f"list.csv:{i + 2}") for i, n in enumerate(numbers)]
    await cs.import_records(store, "acme", "spring", listed, NOW)
    async with store.session() as s:
        campaign = (await s.execute(select(m.Campaign))).scalar_one()
        campaign.status = CampaignStatus.RUNNING.value
        records = (await s.execute(select(m.CampaignRecord).order_by(m.CampaignRecord.id))).scalars().all()
        await s.commit()
    runner = await CampaignRunner.load(store, "acme", "spring", NOW.timestamp())
    # Both records were talked to (by mario, then anna) and their talks ended: done, "talked", as the dialer
    # leaves them; mario's talk came after his last inbound call, so it is his last contact.
    async with store.session() as s:
        for row, agent in zip(records, ("acme-mario", "acme-anna"), strict=True):  # the ACD's agent ids
            stored = await s.get(m.CampaignRecord, row.id)
            assert stored is not None
            stored.state, stored.last_outcome, stored.attempts = RecordState.DONE.value, "talked", 1
            s.add(
                m.CampaignAttempt(
                    tenant_id=stored.tenant_id, campaign_id=stored.campaign_id, record_id=row.id, number=row.number,
                    agent=agent, started_at=NOW - timedelta(minutes=2), answered_at=NOW - timedelta(minutes=1),
                    ended_at=NOW, outcome="human",
                )
            )  # fmt: skip
            booked = runner.dialer.book.records[row.id]
            booked.state, booked.last_outcome, booked.attempts = RecordState.DONE, "talked", 1
        await s.commit()

    done = await set_disposition(store, "acme", "mario", "91", NOW)
    assert (done.target, done.record_state) == (Target.CAMPAIGN, RecordState.PENDING.value)
    final = await set_disposition(store, "acme", "anna", "90", NOW)
    assert (final.target, final.record_state) == (Target.CAMPAIGN, RecordState.DONE.value)
    async with store.session() as s:
        rows = (await s.execute(select(m.CampaignRecord).order_by(m.CampaignRecord.id))).scalars().all()
        attempts = (await s.execute(select(m.CampaignAttempt.agent, m.CampaignAttempt.disposition))).all()
    assert [(r.state, r.last_outcome) for r in rows] == [("pending", "call-later"), ("done", "sale")]
    assert rows[0].next_at == NOW + timedelta(hours=1)
    assert sorted(attempts) == [("acme-anna", "sale"), ("acme-mario", "call-later")]

    await runner.refresh()  # the running campaign picks the record up, due when the rule says
    book = runner.dialer.book
    assert book.records[rows[0].id].state is RecordState.PENDING and book.records[rows[1].id].final
    assert book.count_due(NOW.timestamp() + 3599) == 0
    assert [r.id for r in book.due(NOW.timestamp() + 3600)] == [rows[0].id]
