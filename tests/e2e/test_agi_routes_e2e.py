"""The FastAGI call routes on the lab Asterisk, driven by sipp phones.

- lookup: an agent phone of tenant gamma dials *97<number>; the dialplan runs AGI lookup and prints the
  caller name it set, served by the FastAGI server alone (what `tvoxcc agi run` runs).
- survey: a caller dials gamma's DID; the voice service opens the interaction, the IVR transfers the caller
  to *98 (tvoxcc-survey), the caller presses 9 and the NpsAnswer lands in the store against that interaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.cli import Tvox
from tests.e2e.voice import SettableClock, running_voice
from tvoxcc.agi.routes import all_routes
from tvoxcc.agi.server import build_server
from tvoxcc.asterisk.inputs import AgentPhone, Did
from tvoxcc.lab.sipp import Sipp, SippAgent
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

pytestmark = pytest.mark.asterisk

DATA = Path(__file__).parents[1] / "data" / "agi"


@pytest.fixture(scope="module")
def gamma(lab: Any) -> Iterator[Any]:
    Tvox(lab.config_path).ok("import", str(DATA / "e2e-gamma.yaml"))
    before = lab.current
    password = lab.agents[0].password
    # tvoxcc-agents-gamma exists only for a tenant with an agent phone: the IVR transfer lands there.
    lab.reload(
        lab.render_input(
            agents=(*lab.agents, AgentPhone("gamma", "dan", "1001", password, "Dan Gamma")),
            dids=(*lab.dids, Did("5553000", "gamma", "care")),
        )
    )
    yield lab
    lab.reload(before)


def store_of(lab: Any) -> Store:
    return Store.from_url(lab.settings.database.url.get_secret_value())


async def add_contact(store: Store, name: str, number: str) -> int:
    async with store.session() as s:
        tenant_id = (await s.execute(select(m.Tenant.id).where(m.Tenant.name == "gamma"))).scalar_one()
        contact = m.Contact(tenant_id=tenant_id, display_name=name, vip=True)
        contact.phones.append(m.ContactPhone(tenant_id=tenant_id, number=number))
        s.add(contact)
        await s.commit()
        return contact.id


async def test_lookup_sets_the_caller_name_from_the_contact(gamma: Any, sipp: Sipp) -> None:
    store = store_of(gamma)
    server = build_server(gamma.settings, all_routes(store))
    await server.start(gamma.settings.agi.host, gamma.settings.agi.port)
    try:
        contact_id = await add_contact(store, "Giulia Rossi", "+390287654321")
        phone = SippAgent(sipp, "gamma-dan", gamma.agents[0].password)
        mark = gamma.log_mark()
        await asyncio.to_thread(lambda: phone.dial("*970287654321", listen_ms=5000).check())
        await asyncio.to_thread(lambda: phone.dial("*970299999999", listen_ms=5000).check())
    finally:
        await server.close()
        await store.dispose()
    log = gamma.log_since(mark)
    assert f'tvoxcc: lookup known contact={contact_id} name="Giulia Rossi" vip=1 tickets=0' in log, log[-3000:]
    assert 'tvoxcc: lookup unknown contact= name="Dan Gamma" vip=0' in log  # a stranger keeps its caller id


async def test_survey_after_the_call_stores_the_answer(gamma: Any, sipp: Sipp) -> None:
    store = store_of(gamma)
    try:
        async with running_voice(gamma.settings, SettableClock(datetime.now(UTC))):
            run = await asyncio.to_thread(lambda: sipp.call("5553000", "9", wait_ms=2500, bye_timeout_ms=5000))
            run.check()
            for _ in range(50):
                async with store.session() as s:
                    found = (
                        await s.execute(
                            select(m.NpsAnswer, m.Interaction)
                            .join(m.Interaction, m.Interaction.id == m.NpsAnswer.interaction_id)
                            .where(m.Interaction.to_address == "care")
                        )
                    ).all()
                if found:
                    break
                await asyncio.sleep(0.1)
    finally:
        await store.dispose()
    assert len(found) == 1, "no NpsAnswer stored"
    answer, interaction = found[0]
    assert answer.score == 9 and interaction.channel == "voice" and interaction.external_id
