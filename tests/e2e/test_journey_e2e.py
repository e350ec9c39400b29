"""Customer Journey after a real call: the voice service matches the caller to a contact, and
`tvoxcc journey show` lists the call with its IVR path, queue and agent; the summary has the agent."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from tests.cli import Tvox
from tests.e2e.test_voice_acd import DATA, DID, Clock, online
from tests.e2e.voice import interactions, running_voice, wait_until_ended
from tvoxcc.lab.sipp import Sipp, SippAgent, caller_scenario
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

pytestmark = pytest.mark.asterisk


async def caller_contact(settings: Any) -> int:
    """An address-book entry for the lab's caller: its SIP From user is its number ("caller")."""
    store = Store.from_url(settings.database.url.get_secret_value())
    try:
        async with store.session() as s:
            tenant = (await s.execute(select(m.Tenant).where(m.Tenant.name == "acme"))).scalar_one()
            found = (
                await s.execute(
                    select(m.ContactPhone.contact_id).where(
                        m.ContactPhone.tenant_id == tenant.id, m.ContactPhone.number == "caller"
                    )
                )
            ).scalar_one_or_none()  # other modules' tenants have their own contact for the lab's caller
            if found is not None:
                return int(found)
            contact = m.Contact(tenant_id=tenant.id, display_name="Carla Bianchi", company="Bianchi Srl")
            contact.phones.append(m.ContactPhone(tenant_id=tenant.id, number="caller"))
            s.add(contact)
            await s.commit()
            return contact.id
    finally:
        await store.dispose()


@pytest.fixture
def tvox(lab: Any) -> Tvox:
    tvox = Tvox(lab.config_path)
    tvox.ok("import", str(DATA / "e2e-acme.yaml"))
    tvox.ok("import", str(DATA / "e2e-acme-agents.yaml"))
    tvox.ok("prompts", "render", "-t", "acme")
    return tvox


async def test_journey_show_lists_the_call_with_queue_and_agent(lab: Any, sipp: Sipp, tvox: Tvox) -> None:
    contact = await caller_contact(lab.settings)
    password = next(a.password for a in lab.agents if a.endpoint == "acme-alice")
    alice = SippAgent(sipp, "acme-alice", password)
    before = len(await interactions(lab.settings))
    try:
        async with running_voice(lab.settings, Clock(datetime.now(UTC))):
            await asyncio.to_thread(alice.register().check)
            await online(lab, "acme-alice")
            answering = alice.answer(ring_ms=300)
            call = sipp.start(caller_scenario(DID, "1", wait_ms=800, gap_ms=3000, hangup="us"), service=DID)
            await asyncio.to_thread(call.wait, 30)
            call.check()
            rows = await wait_until_ended(lab.settings, 1)
            await asyncio.to_thread(answering.wait, 10)
    finally:
        sipp.cleanup()
        alice.unregister().check()
    row = rows[before]
    show = ("journey", "show", "--tenant", "acme", str(contact))
    timeline = json.loads(await asyncio.to_thread(tvox.ok, *show, "--json"))
    assert timeline["contact"]["display_name"] == "Carla Bianchi"
    entry = next(e for e in timeline["entries"] if e["kind"] == "call" and e["interaction_id"] == row["id"])
    assert (entry["queue"], entry["agent"], entry["outcome"]) == ("sales-it", "alice", "answered"), entry
    assert entry["ivr_path"] and entry["digits"] == "1" and entry["wait_s"] is not None and entry["talk_s"] > 0
    text = await asyncio.to_thread(tvox.ok, *show, "--channel", "voice")
    assert f"call #{row['id']} from caller" in text and "agent alice" in text
    pop = await asyncio.to_thread(tvox.ok, "journey", "summary", "--tenant", "acme", str(contact))
    assert "last agent alice" in pop and "Carla Bianchi" in pop
