"""One `voice run` serving two Asterisk nodes behind Kamailio (`lab up --topology nodes=2`).

Agents' phones (sipp) register to Kamailio; callers (sipp) go through Kamailio's dispatcher to both nodes; one
voice service holds an ARI connection to each node and one ACD routes them all: a caller on node1 or node2 is
answered by an agent reached through Kamailio from the caller's node. Then one node's Asterisk is killed: its
calls are ended in the store (interactions closed, ACD items gone, agents free) while the other node keeps
serving new callers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Tvox
from tests.e2e import test_sms as sms
from tests.e2e.conftest import AGENTS, DIDS
from tests.e2e.test_voice_acd import Clock, answered_by
from tests.e2e.test_voice_acd_kill import agent, until
from tests.e2e.topology_up import Topology, nodes_topology
from tests.e2e.voice import VOICE_LOG, interactions, running_voice
from tvoxcc.acd import InputKind, send_input
from tvoxcc.asterisk.inputs import RenderInput
from tvoxcc.chat import routing_store as routing
from tvoxcc.chat.core import ChatError, Sender
from tvoxcc.chat.store import post
from tvoxcc.config import AsteriskNode, KamailioSettings
from tvoxcc.lab import process
from tvoxcc.lab.sipp import SippAgent, SippRun, caller_scenario
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import upgrade
from tvoxcc.voice.app import VoiceApp

pytestmark = pytest.mark.asterisk

DATA = Path(__file__).parents[1] / "data"
DID = "5551000"
QUEUE = "acme/sales-it"


class Nodes(Topology):
    """Its settings are the voice service's: [[kamailio.nodes]] names both nodes."""

    def pid(self, name: str) -> int:
        pid = process.read_pid(Path(self.node(name)["state_dir"]) / "asterisk.pid")
        assert pid is not None and process.alive(pid)
        return pid


@pytest.fixture(scope="module")
def nodes() -> Iterator[Nodes]:
    with nodes_topology("tvoxcc-vnodes-", kind=Nodes) as up:  # its own lab id, subnet and namespaces
        upgrade(up.settings.database.url.get_secret_value())
        tvox = Tvox(up.config_path)
        tvox.ok("import", str(DATA / "e2e-acme.yaml"))
        tvox.ok("import", str(DATA / "e2e-acme-agents.yaml"))
        for node in up.state["nodes"]:  # each node plays the tenant's prompts from its own root
            tvox.ok("prompts", "render", "-t", "acme", "--out", str(up.sounds_dir(node["name"])))
        listed = tuple(AsteriskNode(name=n["name"], host=n["address"]) for n in up.state["nodes"])
        kamailio = KamailioSettings(
            sip_host=up.state["kamailio"]["host"], sip_port=up.state["kamailio"]["port"], nodes=listed
        )
        voice = up.settings.voice.model_copy(update={"node_lost_seconds": 3.0})
        yield replace(up, settings=up.settings.model_copy(update={"kamailio": kamailio, "voice": voice}))


@pytest.fixture
async def store(nodes: Nodes) -> AsyncIterator[Store]:
    db = Store.from_url(nodes.settings.database.url.get_secret_value())
    yield db
    await db.dispose()


@pytest.fixture
async def voice(nodes: Nodes) -> AsyncIterator[VoiceApp]:
    async with running_voice(nodes.settings, Clock(datetime.now(UTC))) as app:
        yield app


@pytest.fixture
def phones(nodes: Nodes) -> Iterator[dict[str, SippAgent]]:
    agents = {n: SippAgent(nodes.sipp, f"acme-{n}", AGENTS[0].password) for n in ("alice", "bob")}
    for phone in agents.values():
        phone.register().check()
    yield agents
    nodes.sipp.cleanup()
    for phone in agents.values():
        phone.unregister().check()


def node_of(channel_id: str) -> str:
    """The node a call entered: each node's channel ids start with its name (asterisk.conf systemname)."""
    return channel_id.split("-", 1)[0]


def callers(nodes: Nodes, calls: int, hold_ms: int, every_ms: int | None = None) -> SippRun:
    """Callers pressing 1 (sales) and hanging up ``hold_ms`` later; one each ``every_ms`` (else all at once)."""
    scenario = caller_scenario(DID, "1", wait_ms=800, hold_ms=hold_ms, hangup="us")
    pace = {"rate": 1, "rate_period_ms": every_ms} if every_ms else {}
    return nodes.sipp.start(scenario, service=DID, calls=calls, timeout_s=150, **pace)  # type: ignore[arg-type]


async def ended(nodes: Nodes, after: int, count: int) -> list[dict[str, Any]]:
    rows = [r for r in await interactions(nodes.settings) if r["id"] > after]
    return rows if len(rows) >= count and all(r["ended"] for r in rows) else []


async def last_interaction(nodes: Nodes) -> int:
    return max((r["id"] for r in await interactions(nodes.settings)), default=0)


async def logged_in(store: Store, names: tuple[str, ...] = ("alice", "bob")) -> None:
    await until(store, lambda s: all(agent(s, f"acme-{n}")["logged_in"] for n in names), "agents logged in", 30)


async def reachable_everywhere(voice: VoiceApp, names: tuple[str, ...] = ("alice", "bob")) -> bool:
    """Every node's Asterisk sees every agent's phone online (its OPTIONS through Kamailio answered): the ACD logs
    an agent in as soon as one node does, and a node that has not qualified the phone yet refuses to ring it
    (500 Allocation failed: the agent would be paused for RONA)."""
    assert voice.nodes is not None
    for node in sorted(voice.nodes.routes.up):
        for name in names:
            if (await voice.nodes.node(node).endpoints.get("PJSIP", f"acme-{name}")).state != "online":
                return False
    return True


async def wait_for(check: Callable[[], Awaitable[Any]], what: str, within: float = 60.0) -> Any:
    deadline = time.monotonic() + within
    while not (found := await check()):
        assert time.monotonic() < deadline, f"{what}: not within {within} s"
        await asyncio.sleep(0.3)
    return found


async def test_calls_entering_both_nodes_are_answered_by_agents_registered_at_kamailio(
    nodes: Nodes, store: Store, phones: dict[str, SippAgent], voice: VoiceApp
) -> None:
    assert voice.nodes is not None and set(voice.nodes.clients) == {"node1", "node2"}
    # Presence: each node asks Kamailio after the phones (qualify); the ACD logs both agents in.
    await logged_in(store)
    after = await last_interaction(nodes)
    answering = [nodes.sipp.answer(p.user, port=p.port, calls=8) for p in phones.values()]
    run = callers(nodes, 8, hold_ms=2500, every_ms=4000)  # one at a time: each finds an agent free (wrap-up 3 s)
    await asyncio.to_thread(run.wait, 150)
    rows = await wait_for(lambda: ended(nodes, after, 8), "8 calls ended")
    assert {node_of(r["channel_id"]) for r in rows} == {"node1", "node2"}, [r["channel_id"] for r in rows]
    served = [await answered_by(nodes.settings, row) for row in rows]
    assert all(name in ("alice", "bob") for name in served), (served, rows)
    assert set(served) == {"alice", "bob"}
    run.check()  # every caller was answered and hung up normally
    for answer in answering:
        answer.process.kill()


async def test_a_killed_node_has_its_calls_ended_in_the_store_the_other_keeps_serving_and_it_comes_back(
    nodes: Nodes, store: Store, phones: dict[str, SippAgent], voice: VoiceApp
) -> None:
    await logged_in(store)
    await wait_for(lambda: reachable_everywhere(voice), "both phones reachable from both nodes", 60)
    after = await last_interaction(nodes)
    answering = [nodes.sipp.answer(p.user, port=p.port, calls=10, bye_timeout_ms=60000) for p in phones.values()]
    # Six callers at once (three on each node): two talk to the agents, four wait in the queue.
    callers(nodes, 6, hold_ms=20000)
    stored = await until(store, lambda s: len(open_items(s)) == 6, "6 callers in the ACD", 60)
    assert {node_of(item) for item in open_items(stored)} == {"node1", "node2"}, open_items(stored)
    os.kill(nodes.pid("node1"), signal.SIGKILL)
    # node1's calls are ended in the store (interactions closed, ACD items gone, its talks' agents freed).
    stored = await until(store, lambda s: {node_of(i) for i in open_items(s)} == {"node2"}, "node1's items gone", 30)
    assert all(agent(stored, f"acme-{n}")["logged_in"] for n in ("alice", "bob")), (
        f"agents are not on a node:\n{VOICE_LOG.about('acme-alice', 'acme-bob')}"
    )
    rows = await wait_for(lambda: ended_on(nodes, after, "node1"), "node1's interactions ended", 30)
    assert len(rows) == 3, rows
    still = [r for r in await interactions(nodes.settings) if r["id"] > after and node_of(r["channel_id"]) == "node2"]
    assert len(still) == 3 and not [r for r in still if r["ended"]], still
    # node2 keeps serving: its waiting callers are answered, and new callers all go to it.
    known = await last_interaction(nodes)
    fresh = callers(nodes, 3, hold_ms=45000, every_ms=2000)  # long enough to wait for an agent: all are answered
    await asyncio.to_thread(fresh.wait, 150)
    later = await wait_for(lambda: ended(nodes, known, 3), "3 new calls ended", 60)
    assert {node_of(r["channel_id"]) for r in later} == {"node2"}, later
    assert all([await answered_by(nodes.settings, r) for r in later]), later
    fresh.check()
    # node2's first callers ended when they hung up (a talk, or a wait too long for two agents), not with node1.
    assert await wait_for(lambda: ended_on(nodes, after, "node2"), "node2's first calls ended", 60)
    for answer in answering:
        answer.process.kill()
        answer.wait(10)

    # node1 comes back: the same voice run connects to it again, resyncs it, and serves its callers.
    nodes.lab.start_node("node1", RenderInput.from_settings(nodes.settings, AGENTS, DIDS))
    await wait_for(lambda: connected(voice, "node1"), "node1 connected again", 60)
    await asyncio.sleep(2 * nodes.settings.kamailio.probe_seconds + 6)  # Kamailio's probe, the phones qualified
    answering = [nodes.sipp.answer(p.user, port=p.port, calls=4) for p in phones.values()]
    known = await last_interaction(nodes)
    back = callers(nodes, 4, hold_ms=2500, every_ms=4000)
    await asyncio.to_thread(back.wait, 150)
    rows = await wait_for(lambda: ended(nodes, known, 4), "4 calls after node1 came back ended", 60)
    assert {node_of(r["channel_id"]) for r in rows} == {"node1", "node2"}, rows
    assert all([await answered_by(nodes.settings, r) for r in rows]), rows
    back.check()
    for answer in answering:
        answer.process.kill()


async def connected(voice: VoiceApp, node: str) -> bool:
    assert voice.nodes is not None
    return node in voice.nodes.routes.up


def open_items(stored: Any) -> list[str]:
    """The voice items the ACD holds in sales-it (waiting, offered or connected): their channel ids."""
    return [r["item_id"] for r in stored.items if r["queue"] == QUEUE and r["channel"] == "voice"]


async def ended_on(nodes: Nodes, after: int, node: str) -> list[dict[str, Any]]:
    rows = [r for r in await interactions(nodes.settings) if r["id"] > after and node_of(r["channel_id"]) == node]
    return rows if rows and all(r["ended"] for r in rows) else []


async def test_texts_dispatched_to_either_node_are_all_taken_and_the_reply_goes_straight_back(
    nodes: Nodes, store: Store, voice: VoiceApp
) -> None:
    """Kamailio hands each text to the next node in turn, as it does calls: the SMS gateway listens on every
    node (a node without it answers 404 and the text goes back to the carrier); the reply leaves from a node
    straight to the address Kamailio named, where the phone gets it."""
    await asyncio.to_thread(Tvox(nodes.config_path).ok, "import", str(DATA / "e2e-sms.yaml"))
    tenant, dora = await sms.ids(store)

    async def dora_logged_in() -> bool:  # the ACD knows her once it reloads its configuration (every few s)
        try:
            await routing.answered(store, await send_input(store, InputKind.LOGIN, agent_id="texty-dora"))
        except ChatError as exc:
            assert "unknown agent" in str(exc), exc
            return False
        return True

    await wait_for(dora_logged_in, "dora logged in", 30)
    customers = [f"+3933312345{i:02d}" for i in range(4)]
    texts = [nodes.sipp.text(sms.DID, f"Hello from {n}", sender=n, linger_ms=20000) for n in customers]

    async def four_chats() -> list[Any] | None:
        chats = await sms.sms_chats(store, tenant)
        return chats if len(chats) == 4 else None

    chats = await wait_for(four_chats, "a chat for each of the 4 texts", 30)
    assert sorted(c.address for c in chats) == customers
    chat = await wait_for(lambda: sms.offered_to(store, tenant, dora), "a text offered to dora", 30)
    await routing.accept(store, tenant, chat.id, dora, datetime.now(UTC))
    await post(store, tenant, chat.id, Sender.AGENT, "Hello back", datetime.now(UTC), agent_id=dora)
    phone = texts[customers.index(chat.address)]
    await wait_for(lambda: asyncio.sleep(0, sms.received(phone, "Hello back")), "the reply on the phone", 30)
    for text in texts:  # each phone had its 202 (a 404 fails its scenario)
        (await asyncio.to_thread(text.wait, 60)).check()
