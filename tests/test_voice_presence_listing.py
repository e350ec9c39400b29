"""The ACD's listing of every agent phone's state (after each connect, when agents are added) never undoes an
event handled while it was awaited (SQLite and PostgreSQL, the real ACD service).

The listing answers what Asterisk had when it was asked; a phone qualified just then is reported online by an
event, which runs in a lane of its own and may be handled before the answer is. Applied after it, the stale
"offline" logged the agent out, and nothing logged it in again (no node reports a state that did not change):
seen in CI on two nodes, an agent out for the rest of the run while both nodes saw its phone online.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from tests.test_acd_service import Clock, service, tenant
from tests.test_voice_offline_logout import UNREACHED
from tvoxcc.ari.models import Endpoint
from tvoxcc.queues import model as q
from tvoxcc.store.engine import Store
from tvoxcc.voice.acd import AcdQueue
from tvoxcc.voice.acd_config import AcdDirectory


class Phones:
    """Asterisk's endpoints: ``listed`` is what GET /endpoints answers; ``meanwhile`` are the events handled
    after it was asked and before its answer is (each as the app hands it on: ``AcdQueue.on_endpoint``)."""

    def __init__(self, voice: AcdQueue, listed: dict[str, str], meanwhile: dict[str, str]) -> None:
        self.voice, self.listed, self.meanwhile = voice, listed, meanwhile

    async def subscribe(self, agents: object) -> None:
        pass

    async def list(self, technology: str) -> list[Endpoint]:
        answer = [Endpoint(technology, name, state) for name, state in self.listed.items()]
        for name, state in self.meanwhile.items():
            await self.voice.on_endpoint(name, state)
        return answer


async def follow(store: Store, listed: dict[str, str], meanwhile: dict[str, str], before: dict[str, str]) -> AcdQueue:
    """An ACD whose agents' phones were reported ``before``, then listed while ``meanwhile`` was reported."""
    tenant_id = await tenant(store)
    voice = AcdQueue(UNREACHED, AcdDirectory(store), lambda: datetime.now(UTC))
    voice.service = service(store, tenant_id, Clock())
    assert await voice.service.start()
    for name, state in before.items():
        await voice.on_endpoint(name, state)
    phones = Phones(voice, listed, meanwhile)
    voice.ari = SimpleNamespace(endpoints=phones)  # type: ignore[assignment]
    voice.presence = phones  # type: ignore[assignment]
    await voice._follow_agents()
    return voice


def status(voice: AcdQueue, agent: str) -> q.AgentStatus:
    view = voice.service.agent_view(agent)
    assert view is not None
    return view.status


async def test_a_phone_reported_online_while_the_listing_was_awaited_stays_logged_in(store: Store) -> None:
    voice = await follow(store, {"acme-anna": "offline", "acme-bob": "offline"}, {"acme-anna": "online"}, {})
    assert status(voice, "acme-anna") is not q.AgentStatus.LOGGED_OUT  # the event is the newer word
    assert status(voice, "acme-bob") is q.AgentStatus.LOGGED_OUT  # nothing said otherwise: the listing's
    await voice.service.stop()


async def test_a_listing_asked_for_after_the_last_event_is_the_newer_word(store: Store) -> None:
    voice = await follow(store, {"acme-anna": "offline", "acme-bob": "online"}, {}, {"acme-anna": "online"})
    assert status(voice, "acme-anna") is q.AgentStatus.LOGGED_OUT  # went offline since its event
    assert status(voice, "acme-bob") is not q.AgentStatus.LOGGED_OUT
    await voice.service.stop()
