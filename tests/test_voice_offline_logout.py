"""An agent whose phone goes offline while it holds an item is logged out once the item is done (SQLite and
PostgreSQL, the real ACD service): Asterisk reports the phone offline only once, often at the very originate to
it (an expired contact is noticed when looked up), when the router refuses a logout with an item in hand.

The voice adapter's ARI client is never reached here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tests.test_acd_service import Clock, service, tenant
from tvoxcc.acd import NewItem
from tvoxcc.ari import AriClient
from tvoxcc.queues import model as q
from tvoxcc.store.engine import Store
from tvoxcc.voice.acd import AcdQueue
from tvoxcc.voice.acd_config import AcdDirectory

UNREACHED = AriClient("http://127.0.0.1:9", "nobody", "nothing", "tvoxcc")  # never called in these tests


async def test_a_phone_gone_offline_with_an_item_in_hand_logs_its_agent_out_once_the_item_is_done(
    store: Store,
) -> None:
    tenant_id, clock = await tenant(store), Clock()
    voice = AcdQueue(UNREACHED, AcdDirectory(store), lambda: datetime.now(UTC))
    acd = voice.service = service(store, tenant_id, clock)
    assert await acd.start()
    await voice.on_endpoint("acme-anna", "online")
    await voice.on_endpoint("acme-bob", "online")
    item_id, _ = acd.submit_item(NewItem("acme/support", q.Channel.VOICE, tenant_id, "c-1", auto_accept=True))
    holder = next(a for a in ("acme-anna", "acme-bob") if acd.agent_view(a).connected)  # type: ignore[union-attr]
    other = "acme-bob" if holder == "acme-anna" else "acme-anna"

    await voice.on_endpoint(holder, "offline")  # refused by the router: the item is in its hands
    await voice.on_endpoint(other, "offline")  # nothing in hand: out at once
    assert acd.agent_view(other).status is q.AgentStatus.LOGGED_OUT  # type: ignore[union-attr]
    assert acd.agent_view(holder).status is not q.AgentStatus.LOGGED_OUT  # type: ignore[union-attr]
    voice.retry_logouts()
    assert acd.agent_view(holder).status is not q.AgentStatus.LOGGED_OUT  # type: ignore[union-attr]

    acd.complete(item_id)
    voice.retry_logouts()
    assert acd.agent_view(holder).status is q.AgentStatus.LOGGED_OUT  # type: ignore[union-attr]
    assert voice.logouts_due == set()
    await acd.stop()


async def test_a_phone_back_online_before_its_item_is_done_stays_logged_in(store: Store) -> None:
    tenant_id, clock = await tenant(store), Clock()
    voice = AcdQueue(UNREACHED, AcdDirectory(store), lambda: datetime.now(UTC))
    acd = voice.service = service(store, tenant_id, clock)
    assert await acd.start()
    await voice.on_endpoint("acme-anna", "online")
    item_id, _ = acd.submit_item(NewItem("acme/support", q.Channel.VOICE, tenant_id, "c-1", auto_accept=True))
    await voice.on_endpoint("acme-anna", "offline")
    await voice.on_endpoint("acme-anna", "online")  # registered again
    acd.complete(item_id)
    voice.retry_logouts()
    assert acd.agent_view("acme-anna").status is not q.AgentStatus.LOGGED_OUT  # type: ignore[union-attr]
    assert voice.logouts_due == set()
    await acd.stop()
