"""The demo's hierarchy and dispositions step: group sales-team works queue sales-it and campaign spring, mario
is in it, supervisor lea is scoped to it; mario gives his call a disposition (as *7690 on his phone does), and
Insight reports by group and by disposition (the calls `tvoxcc group set`, `user set --groups`, *76 and
`tvoxcc insight report --by group|disposition` make)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tvoxcc.admin.edit import edit_tenant
from tvoxcc.admin.hierarchy import supervised_agents, supervised_queues
from tvoxcc.admin.spec import ActivityCodeSpec, GroupSpec, TenantDoc, UserSpec
from tvoxcc.dispositions.core import DispositionError
from tvoxcc.dispositions.store import set_disposition
from tvoxcc.insight.hierarchy import HierarchyDimension
from tvoxcc.insight.hierarchy_store import hierarchy_report
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

TEAM = "sales-team"


def _hierarchy(doc: TenantDoc) -> None:
    doc.activity_codes = [
        *doc.activity_codes,
        ActivityCodeSpec(code="90", name="sale", kind="disposition"),
        ActivityCodeSpec(code="91", name="call-later", kind="disposition"),
    ]
    doc.groups = [*doc.groups, GroupSpec(name=TEAM, queues=["sales-it"], campaigns=["spring"])]
    for agent in doc.agents:
        if agent.name == "mario":
            agent.groups = [*agent.groups, TEAM]
    doc.users = [*doc.users, UserSpec(username="lea", role="supervisor", groups=[TEAM])]


async def hierarchy_and_dispositions(store: Store, say: Callable[[str], None], now: datetime) -> None:
    await edit_tenant(store, "acme", _hierarchy, actor="system:demo")
    say("")
    say(f"group {TEAM}: queue sales-it, campaign spring, agent mario; supervisor lea is scoped to it")
    async with store.session() as session:
        lea = await session.scalar(select(m.User.id).where(m.User.username == "lea"))
        assert lea is not None
        agents = await supervised_agents(session, lea, "supervisor")
        queues = await supervised_queues(session, lea, "supervisor")
    say(f"  lea sees agents {sorted(agents or ())} and queues {sorted(queues or ())} (web, wallboard, reports)")
    try:
        done = await set_disposition(store, "acme", "mario", "90", now)
        say(f"  mario's *7690 at wrap-up: disposition {done.name!r} on his last {done.target} ({done.row_id})")
    except DispositionError as exc:
        say(f"  mario's *7690 refused: {exc}")
    today = now.astimezone(ZoneInfo("Europe/Rome")).date()  # the demo tenant's time zone
    for by in (HierarchyDimension.GROUP, HierarchyDimension.DISPOSITION):
        rows = await hierarchy_report(store, "acme", today, today, by)
        shown = ", ".join(f"{key}: {f.contacts} contacts, {f.talk_s:.0f} s talk" for key, f in rows.items())
        say(f"  insight --by {by.value}: {shown or 'nothing yet'}")
