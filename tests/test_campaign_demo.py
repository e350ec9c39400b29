"""The demo's campaign step on the demo tenant's shape (the full demo: tests/e2e/test_demo.py)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tvoxcc.admin.edit import import_document
from tvoxcc.admin.spec import TenantDoc
from tvoxcc.cli.tenant_io import parse_document
from tvoxcc.demo_campaign import campaign_takes_a_list
from tvoxcc.demo_preview import agent_previews_a_record
from tvoxcc.demo_scripts import script_guides_the_call
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

DEMO = Path(__file__).parents[1] / "demo" / "acme.yaml"


async def test_the_demo_campaign_takes_its_list(store: Store) -> None:
    async with store.session() as s:
        outbound = {"endpoint": "PJSIP/{number}@acme-pstn", "caller_id": "+390299990000", "ring_seconds": 20}
        tenant = m.Tenant(name="acme", country="IT", timezone="Europe/Rome", outbound=outbound)  # demo/acme.yaml's
        s.add(tenant)
        await s.commit()
    async with store.tenant(tenant.id) as s:
        service = m.Service(name="sales")
        s.add(service)
        await s.flush()
        queue = m.Queue(name="sales-it", service_id=service.id)
        agent = m.Agent(name="mario", display_name="Mario", extension="201", sip_password="x")
        s.add_all([queue, agent])
        await s.flush()
        s.add(m.QueueMember(queue_id=queue.id, agent_id=agent.id))
        await s.commit()
    lines: list[str] = []
    await campaign_takes_a_list(store, lines.append)
    assert lines[1] == (
        "campaign spring (progressive, queue sales-it): 3 records imported, running; "
        "+390612345678 on the do-not-call list"
    )
    assert lines[2] == "  ledger rolling-30-days: 0 abandoned of 0 live-answered (limit 3%); records 3 pending"


async def test_the_demo_script_guides_the_campaigns_calls(store: Store) -> None:
    doc: TenantDoc = parse_document(DEMO.read_text(), str(DEMO))  # the YAML edit reads the whole tenant back
    await import_document(store, doc)
    await campaign_takes_a_list(store, [].append)
    async with store.session() as s:
        tenant = await s.scalar(select(m.Tenant.id))
        s.add(m.Interaction(tenant_id=tenant, channel="voice", from_address="+390212345678"))
        await s.commit()
    lines: list[str] = []
    await script_guides_the_call(store, lines.append)
    assert lines[1:] == [
        "script winback (Win-back offer) for campaign spring in acme's YAML: 4 steps",
        "  answered on interaction 1: greet -> offer -> bye; {'interested': 'yes', 'plan': 'plus', 'seats': '2'}",
    ]


async def test_the_demo_agent_previews_a_record_and_skips_it(store: Store) -> None:
    await test_the_demo_campaign_takes_its_list(store)
    lines: list[str] = []
    await agent_previews_a_record(store, lines.append)
    assert lines[1:] == [
        "preview campaign renewals: mario is shown +390255590001 {'name': 'Lucia Gallo', 'product': 'router'}; "
        "skipped call-later: pending",
        "  then shown +390255590002 (the skipped record is due again in an hour)",
        "  dialled from the desktop, the line busy: record pending (busy), due in 10 min",
    ]
