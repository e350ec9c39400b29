"""Campaign reservations in the real ACD service (SQLite and PostgreSQL): the desk reserves only agents the ACD
has free, one per free agent, below an inbound caller; the items a stopped run left are ended by the next.

No line is dialled here (that is tests/e2e/test_campaign_run.py on the lab): the ARI client is never reached.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import update

from tests.test_acd_service import Clock, service, tenant
from tvoxcc.acd import NewItem
from tvoxcc.ari import AriClient
from tvoxcc.campaigns import store as cs
from tvoxcc.campaigns.contact_list import ListedRecord
from tvoxcc.campaigns.desk import CampaignDesk, campaign_of
from tvoxcc.campaigns.lines import CampaignLines
from tvoxcc.campaigns.model import CampaignStatus, DialMode
from tvoxcc.campaigns.runner import CampaignRunner
from tvoxcc.campaigns.service import CampaignService
from tvoxcc.campaigns.spec import CampaignSettings, parse_window
from tvoxcc.queues import model as q
from tvoxcc.queues.views import RouterView
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.callbacks import OutboundRoute

UNREACHED = AriClient("http://127.0.0.1:9", "nobody", "nothing", "tvoxcc")  # never called in these tests


async def running_campaign(store: Store) -> CampaignRunner:
    settings = CampaignSettings(window=parse_window("mon-sun 00:00-24:00"))
    await cs.save_campaign(store, "acme", "spring", cs.CampaignDraft(DialMode.PROGRESSIVE, settings=settings), new=True)
    listed = [ListedRecord(f"+3906123456{n}", {}, f"t:{n}") for n in range(3)]
    await cs.import_records(store, "acme", "spring", listed, datetime.now(UTC))
    async with store.session() as session:
        await session.execute(update(m.Campaign).values(status=CampaignStatus.RUNNING.value))
        await session.commit()
    return await CampaignRunner.load(store, "acme", "spring", time.time())


def campaign_items(view: RouterView) -> dict[str, q.ItemStatus]:
    return {i: item.status for i, item in view.items.items() if campaign_of(i) is not None}


async def test_the_desk_reserves_only_agents_the_acd_has_free_and_a_restart_ends_what_was_left(store: Store) -> None:
    tenant_id, clock = await tenant(store), Clock()
    acd = service(store, tenant_id, clock)
    assert await acd.start()
    runner = await running_campaign(store)
    lines = CampaignLines(UNREACHED, OutboundRoute("PJSIP/{number}@t"), lambda event: None, "m")  # type: ignore[arg-type,return-value]
    desk = CampaignDesk(acd, runner, lines, ("acme/support",), time.time)

    desk.reserve()
    assert campaign_items(acd.view()) == {}  # nobody logged in: nothing reserved
    acd.login("acme-anna")
    assert desk.free_agents() == ["acme-anna"]
    desk.reserve()
    desk.reserve()  # anna is reserved now: not free, and her reservation is on its way to the desk
    items = campaign_items(acd.view())
    assert list(items.values()) == [q.ItemStatus.DIALING]
    (reserved,) = items
    assert acd.item_view(reserved).agent_id == "acme-anna"  # type: ignore[union-attr]
    assert acd.agent_status("acme-anna") is q.AgentStatus.RESERVED

    # bob logs in while an inbound caller waits: the caller is offered first, no reservation takes bob.
    call = acd.submit(NewItem("acme/support", q.Channel.VOICE, tenant_id, caller_id="0611"))
    acd.login("acme-bob")
    desk.reserve()
    assert acd.view().items[call].offered_to == ("acme-bob",)
    assert list(campaign_items(acd.view())) == [reserved]

    # The run stops with anna reserved; the next one (restored from the rows) ends that item.
    await acd.stop()
    again = service(store, tenant_id, clock)
    assert await again.start()
    assert reserved in again.view().items
    campaigns = CampaignService(store, UNREACHED, again)
    campaigns._clear_left()
    await again.flush()
    assert campaign_items(again.view()) == {}
    # anna is freed of it (the inbound caller, offered afresh by the restore, may take her now)
    assert set(again.agent_view("acme-anna").offered) <= {call}  # type: ignore[union-attr]
    assert again.view().items[call].status is q.ItemStatus.OFFERED
    await again.stop()
