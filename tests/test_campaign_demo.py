"""The demo's campaign step on the demo tenant's shape (the full demo: tests/e2e/test_demo.py)."""

from __future__ import annotations

from tvoxcc.demo_campaign import campaign_takes_a_list
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


async def test_the_demo_campaign_takes_its_list(store: Store) -> None:
    async with store.session() as s:
        tenant = m.Tenant(name="acme", country="IT", timezone="Europe/Rome")
        s.add(tenant)
        await s.commit()
    async with store.tenant(tenant.id) as s:
        service = m.Service(name="sales")
        s.add(service)
        await s.flush()
        s.add(m.Queue(name="sales-it", service_id=service.id))
        await s.commit()
    lines: list[str] = []
    await campaign_takes_a_list(store, lines.append)
    assert lines[1] == (
        "campaign spring (progressive, queue sales-it): 3 records imported, running; "
        "+390612345678 on the do-not-call list"
    )
    assert lines[2] == "  ledger rolling-30-days: 0 abandoned of 0 live-answered (limit 3%); records 3 pending"
