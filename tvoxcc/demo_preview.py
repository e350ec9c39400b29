"""The demo's preview step: a preview campaign for the sales queue; its first record is shown to the agent as
the desktop shows it (GET /api/agent/preview), who skips it "call-later" (its retry rule: an hour later), then
is shown the next one (the same calls tvoxcc.web.preview makes) and dials it: the customer's line is busy (the
click-to-call's store side as the voice service drives it on a 486), and the record is due again by the
campaign's busy rule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select

from tvoxcc.admin.repository import tenant_id_of
from tvoxcc.agentcalls.store import AgentCallBook, Prepared
from tvoxcc.campaigns import preview
from tvoxcc.campaigns import store as cs
from tvoxcc.campaigns.contact_list import parse_list
from tvoxcc.campaigns.model import CampaignStatus, DialMode
from tvoxcc.campaigns.spec import CampaignSettings, parse_window
from tvoxcc.interactions import Outcome
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

DEMO_LIST = """number,name,product
02 5559 0001,Lucia Gallo,router
02 5559 0002,Marco Riva,modem
"""


async def agent_previews_a_record(
    store: Store, say: Callable[[str], None], queue: str = "sales-it", agent: str = "mario"
) -> None:
    now = datetime.now(UTC)
    settings = CampaignSettings(window=parse_window("mon-sun 00:00-23:59")).with_retries([("call-later", 3600.0)], None)
    draft = cs.CampaignDraft(mode=DialMode.PREVIEW, settings=settings, queues=(queue,))
    await cs.save_campaign(store, "acme", "renewals", draft, new=True)
    records = parse_list(DEMO_LIST, "renewals.csv", "number", await cs.tenant_region(store, "acme"))
    await cs.import_records(store, "acme", "renewals", records, now)
    await cs.set_status(store, "acme", "renewals", CampaignStatus.RUNNING, actor="system:demo")
    tenant_id = await tenant_id_of(store, "acme")
    async with store.tenant(tenant_id) as session:
        tenant = await session.get(m.Tenant, tenant_id)
        agent_row = await session.scalar(select(m.Agent).where(m.Agent.name == agent))
        assert tenant is not None and agent_row is not None
        first = await preview.offer(session, tenant, agent_row, now)
        assert first is not None
        state = await preview.skip(session, tenant, agent_row, first.record, "call-later", now)
        second = await preview.offer(session, tenant, agent_row, now)
        assert second is not None
        _call, refused = await preview.dial(session, tenant, agent_row, second.record, now)
        await session.commit()
    say("")
    say(f"preview campaign renewals: {agent} is shown {first.number} {first.fields}; skipped call-later: {state}")
    say(f"  then shown {second.number} (the skipped record is due again in an hour)")
    if refused is not None:
        say(f"  dialled from the desktop: refused, {refused.message}")
        return
    book = AgentCallBook(store)  # the voice service's side: the agent's phone answers, the customer's is busy
    for claimed in await book.claim_requests(now):
        prepared = await book.take_up(claimed.row_id, now)
        if isinstance(prepared, Prepared):
            interaction = await book.dialing(prepared, f"demo-preview-{claimed.row_id}", now)
            await book.ended(prepared, interaction, now, Outcome.NO_ANSWER, "busy", cause=17)  # Q.850 17: busy
    async with store.tenant(tenant_id) as session:
        row = await session.get(m.CampaignRecord, second.record)
        assert row is not None and row.next_at is not None
        again = round((row.next_at - now).total_seconds() / 60)
    say(f"  dialled from the desktop, the line busy: record {row.state} ({row.last_outcome}), due in {again} min")
