"""`tvoxcc insight report --by group|campaign|disposition` on SQLite and PostgreSQL, against figures worked out
by hand from a small day: mario (groups team-a and team-b), anna (team-a), ugo (no group), a campaign."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.cli import Tvox
from tvoxcc.config import load_settings
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

DAY = datetime(2026, 12, 7, tzinfo=UTC)


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return DAY.replace(hour=hh, minute=mm, second=ss)


def _setup(tvox: Tvox) -> None:
    tvox.ok("tenant", "add", "acme", "--timezone", "UTC")
    tvox.ok("service", "add", "-t", "acme", "sales")
    tvox.ok("queue", "add", "-t", "acme", "sales-it", "--service", "sales")
    for group in ("team-a", "team-b"):
        tvox.ok("group", "add", "-t", "acme", group)
    tvox.ok("agent", "add", "-t", "acme", "mario", "--extension", "201", "--group", "team-a", "--group", "team-b")
    tvox.ok("agent", "add", "-t", "acme", "anna", "--extension", "202", "--group", "team-a")
    tvox.ok("agent", "add", "-t", "acme", "ugo", "--extension", "203")
    tvox.ok("activity", "add", "-t", "acme", "sale", "--code", "90", "--kind", "disposition")
    tvox.ok("activity", "add", "-t", "acme", "call-later", "--code", "91", "--kind", "disposition")
    tvox.ok("activity", "add", "-t", "acme", "lunch", "--code", "1")
    tvox.ok("campaign", "add", "-t", "acme", "spring", "--queue", "sales-it")


async def _seed(url: str) -> None:
    store = Store.from_url(url)
    async with store.session() as s:
        tid = await s.scalar(select(m.Tenant.id).where(m.Tenant.name == "acme"))
        agent = dict((await s.execute(select(m.Agent.name, m.Agent.id))).all())
        code = dict((await s.execute(select(m.ActivityCode.name, m.ActivityCode.id))).all())
        queue = await s.scalar(select(m.Queue.id))
        campaign = await s.scalar(select(m.Campaign.id))

        def call(offered: datetime, who: str | None, talk_s: int | None, disposition: str | None = None,
                 queue_id: int | None = queue) -> m.Interaction:  # fmt: skip
            answered = offered + timedelta(seconds=10) if talk_s is not None else None
            return m.Interaction(
                tenant_id=tid, channel="voice", queue_id=queue_id, agent_id=agent[who] if who else None,
                offered_at=offered, answered_at=answered,
                ended_at=(answered + timedelta(seconds=talk_s)) if answered and talk_s is not None else offered,
                activity_code_id=code[disposition] if disposition else None,
            )  # fmt: skip

        s.add_all(
            [
                call(at(10, 0), "mario", 120, "sale"),
                call(at(10, 10), "anna", 60),
                call(at(10, 20), None, None),  # abandoned in the queue
                call(at(10, 30), "ugo", 30, "call-later"),
                call(at(10, 40), None, None, queue_id=None),  # never left the IVR: not a talk
                call(at(10, 0) - timedelta(days=1), "mario", 500, "sale"),  # the day before
                call(at(10, 50), "anna", 45, "lunch"),  # a pause code is no disposition
            ]
        )
        record = m.CampaignRecord(tenant_id=tid, campaign_id=campaign, number="+390255501")
        s.add(record)
        await s.flush()
        s.add_all(
            [
                m.CampaignAttempt(
                    tenant_id=tid, campaign_id=campaign, record_id=record.id, number=record.number, agent="acme-mario",
                    started_at=at(11, 0), answered_at=at(11, 0, 20), ended_at=at(11, 3, 20), outcome="human",
                    disposition="sale",
                ),
                m.CampaignAttempt(
                    tenant_id=tid, campaign_id=campaign, record_id=record.id, number=record.number,
                    started_at=at(12, 0), ended_at=at(12, 0, 25), outcome="no-answer",
                ),
            ]
        )  # fmt: skip
        await s.commit()
    await store.dispose()


def test_reports_by_group_campaign_and_disposition(tvox_any: Tvox) -> None:
    _setup(tvox_any)
    asyncio.run(_seed(load_settings(tvox_any.config).database.url.get_secret_value()))

    def report(by: str) -> dict[str, tuple[int, int, int, float, float | None]]:
        out = tvox_any.ok("insight", "report", "-t", "acme", "--from", "2026-12-07", "--by", by, "--json")
        return {r[by]: (r["contacts"], r["answered"], r["handled"], r["talk_s"], r["aht_s"]) for r in json.loads(out)}

    # team-a: mario 120 + 180 (campaign), anna 60 + 45; team-b: mario's two; "-": the abandon, ugo, the no-answer.
    assert report("group") == {
        "team-a": (4, 4, 4, 405.0, 101.2),
        "team-b": (2, 2, 2, 300.0, 150.0),
        "-": (3, 1, 1, 30.0, 30.0),
    }
    assert report("campaign") == {"spring": (2, 1, 1, 180.0, 180.0), "-": (5, 4, 4, 255.0, 63.8)}
    assert report("disposition") == {
        "call-later": (1, 1, 1, 30.0, 30.0),
        "sale": (2, 2, 2, 300.0, 150.0),
        "-": (4, 2, 2, 105.0, 52.5),
    }
    table = tvox_any.ok("insight", "report", "-t", "acme", "--from", "2026-12-07", "--by", "group")
    assert table.splitlines()[0].split() == ["GROUP", "CONTACTS", "ANSWERED", "HANDLED", "TALK_S", "AHT_S"]
    out = tvox_any.fails("insight", "report", "-t", "acme", "--from", "2026-12-07", "--by", "group", "--format", "html")
    assert out.count("\n") == 1 and "--by group" in out
