"""The demo's hierarchy and dispositions step on the demo tenant (the full demo: tests/e2e/test_demo.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from tvoxcc.admin.edit import import_document
from tvoxcc.admin.spec import TenantDoc
from tvoxcc.cli.tenant_io import parse_document
from tvoxcc.demo_campaign import campaign_takes_a_list
from tvoxcc.demo_hierarchy import hierarchy_and_dispositions
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

DEMO = Path(__file__).parents[1] / "demo" / "acme.yaml"
NOW = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)


async def test_the_demo_links_the_hierarchy_and_mario_gives_his_call_a_disposition(store: Store) -> None:
    doc: TenantDoc = parse_document(DEMO.read_text(), str(DEMO))
    await import_document(store, doc)
    async with store.session() as s:
        tenant = await s.scalar(select(m.Tenant.id))
        mario = await s.scalar(select(m.Agent.id).where(m.Agent.name == "mario"))
        queue = await s.scalar(select(m.Queue.id))
        offered = NOW - timedelta(minutes=3)
        s.add(
            m.Interaction(
                tenant_id=tenant, channel="voice", queue_id=queue, agent_id=mario, offered_at=offered,
                answered_at=offered + timedelta(seconds=5), ended_at=offered + timedelta(seconds=65),
            )
        )  # fmt: skip
        await s.commit()
    lines: list[str] = []
    await campaign_takes_a_list(store, lines.append)
    await hierarchy_and_dispositions(store, lines.append, NOW)
    assert lines[-5:] == [
        "group sales-team: queue sales-it, campaign spring, agent mario; supervisor lea is scoped to it",
        "  lea sees agents ['mario'] and queues ['sales-it'] (web, wallboard, reports)",
        lines[-3],
        "  insight --by group: sales-team: 1 contacts, 60 s talk",
        "  insight --by disposition: sale: 1 contacts, 60 s talk",
    ]
    assert lines[-3].startswith("  mario's *7690 at wrap-up: disposition 'sale' on his last interaction (")
