"""The demo's campaign step: a progressive campaign for the sales queue, its list imported, a number on the
do-not-call list, and its statistics (the same calls `tvoxcc campaign add|import-list|start|stats` make).

The lines themselves are not dialled in the demo: `voice run` dials a running campaign (its calls are work items
of the ACD there), and the demo's voice service has stopped by this step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from tvoxcc.campaigns import store as cs
from tvoxcc.campaigns.contact_list import parse_list
from tvoxcc.campaigns.model import CampaignStatus, DialMode
from tvoxcc.campaigns.spec import CampaignSettings, parse_window
from tvoxcc.store.engine import Store

DEMO_LIST = """number,name,plan
02 1234 5678,Giulia Verdi,gold
+39 06 1234 5678,Paolo Neri,silver
+1 212 555 0143,Ann Smith,gold
"""


async def campaign_takes_a_list(store: Store, say: Callable[[str], None], queue: str = "sales-it") -> None:
    now = datetime.now(UTC)
    draft = cs.CampaignDraft(
        mode=DialMode.PROGRESSIVE,
        settings=CampaignSettings(window=parse_window("mon-fri 09:00-20:00")),
        queues=(queue,),
    )
    await cs.save_campaign(store, "acme", "spring", draft, new=True)
    records = parse_list(DEMO_LIST, "spring.csv", "number", await cs.tenant_region(store, "acme"))
    await cs.import_records(store, "acme", "spring", records, now)
    await cs.add_do_not_call(store, "acme", [records[1].number], "asked not to be called")
    await cs.set_status(store, "acme", "spring", CampaignStatus.RUNNING, actor="system:demo")
    stats = await cs.campaign_stats(store, "acme", "spring", now)
    ledger = stats["ledger"]
    say("")
    say(
        f"campaign spring ({stats['mode']}, queue {queue}): {len(records)} records imported, {stats['status']}; "
        f"{records[1].number} on the do-not-call list"
    )
    say(
        f"  ledger {ledger['rule']}: {ledger['abandoned']:g} abandoned of {ledger['live_answered']:g} live-answered "
        f"(limit 3%); records {stats['records']['pending']} pending"
    )
