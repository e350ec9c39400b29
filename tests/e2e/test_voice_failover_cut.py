"""Leader failover on the redundant namespace topology (`tvoxcc lab up --topology redundant`): SIGKILL, then a cut.

Hosts main and main2 each run `voice run` in their own network namespace against one PostgreSQL running in the
db host's namespace, reached over the lab's bridge; the calls sit on main2's Asterisk node (main's is stopped:
a call on a cut host's own Asterisk is lost with it, the node-failure case of tests/e2e/test_nodes_topology.py).
4 agents talk to callers, 30 callers wait in sales-it, 10 more are in the IVR. Then:
1. SIGKILL the active service (main2's): the standby on main takes the lease at once (the server frees the
   killed process's advisory lock with its connection), takes back every call and routes;
2. the killed one started again waits as a standby; cut main's network (its veth set down inside its
   namespace): the cut service reaches neither the store nor Asterisk, stops by itself within 2/3 of the lease
   (exit 3, while still cut), and the server drops its sessions when the lease runs out; only then does the
   standby on main2 take the lease and route;
3. main's network back, its voice run started again waits as a standby: nothing routes twice.
All along: the callers keep their places, the talks go on and end normally, the IVR callers finish their menu,
the next free agents get the oldest callers, no agent is ever offered two calls (OfferMonitor). The takeover
times are printed (the figures of README's redundancy section), not asserted.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Tvox
from tests.components import component_missing
from tests.e2e.conftest import DIDS, LAB_CACHE, PASSWORD
from tests.e2e.pair import Pair, redundant_pair, stop_voice_run
from tests.e2e.test_voice_acd_kill import QUEUE, agent, line, until
from tests.e2e.test_voice_failover import OfferMonitor, text_of, wait_for_line
from tests.e2e.topology_up import need_namespaces, scratch_dir
from tests.servers.postgres import find_pg_bin
from tvoxcc.acd import InputKind, load, send_input
from tvoxcc.asterisk.inputs import AgentPhone
from tvoxcc.lab.sipp import SippAgent, caller_scenario
from tvoxcc.store.engine import Store
from tvoxcc.voice.acd_base import EXIT_LEASE_LOST

pytestmark = pytest.mark.asterisk

DATA = Path(__file__).parents[1] / "data"
DID = "5551000"
NAMES = ("alice", "bob", "dave", "erin")
AGENTS = tuple(AgentPhone("acme", n, f"100{i}", PASSWORD, n.title()) for i, n in enumerate(NAMES, 1))
WAITING = 30
IN_IVR = 10
TALK_MS = 50000  # the talks outlast both failovers
IVR_MS = 40000  # so do the IVR callers' menus
LEASE_S = 6  # [voice] lease_seconds: what a cut costs


def agents_yaml(base: Path) -> Path:
    """e2e-acme-agents.yaml's queue with four agents, one call each."""
    rows = "\n".join(
        f'  - {{name: {a.name}, extension: "{a.extension}", queues: [sales-it], capacity: {{voice: 1}}}}'
        for a in AGENTS
    )
    path = base / "four-agents.yaml"
    path.write_text(
        "tenant: {name: acme, timezone: Europe/Rome, country: IT, language: en}\n"
        "queues:\n  - {name: sales-it, service: sales, strategy: longest-idle, wrapup_seconds: 3,"
        " ring_timeout_seconds: 5, announce_every_seconds: 30}\n"
        f"agents:\n{rows}\n"
    )
    return path


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    need_namespaces("runuser", "psql")
    if find_pg_bin() is None:
        component_missing("PostgreSQL server not installed (scripts/system-deps.sh installs it)")
    with (
        scratch_dir("tvoxcc-cut-") as base,
        redundant_pair(base, AGENTS, DIDS, lab_cache=LAB_CACHE, lease_s=LEASE_S) as ready,
    ):
        ready.tvox.ok("import", str(DATA / "e2e-acme.yaml"))
        ready.tvox.ok("ivr", "set", "acme", "sales", str(DATA / "hold-ivr.yaml"))
        ready.tvox.ok("import", str(agents_yaml(base)))
        ready.tvox.ok("prompts", "render", "-t", "acme", "--out", str(ready.sounds_dir))
        yield ready


@pytest.fixture
async def store(pair: Pair) -> AsyncIterator[Store]:
    db = Store.from_url(pair.settings.database.url.get_secret_value())
    yield db
    await db.dispose()


async def listening(ports: list[int], within: float = 5.0) -> None:
    """Until a UDP socket of this machine's is bound on each port (the answering sipp phones), at most ``within``."""
    deadline = time.monotonic() + within
    wanted = {f":{port:04X}" for port in ports}
    while time.monotonic() < deadline:
        lines = (await asyncio.to_thread(Path("/proc/net/udp").read_text)).splitlines()[1:]
        bound = {line.split()[1][-5:] for line in lines if len(line.split()) > 1}
        if wanted <= bound:
            return
        await asyncio.sleep(0.1)


async def talking(pair: Pair, other_than: set[str], within: float = 30.0) -> tuple[str, str]:
    """(agent leg, caller channel) of a call bridge not among ``other_than`` (agent legs)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for bridge in await asyncio.to_thread(pair.ari, "bridges"):
            name, channels = bridge.get("name", ""), bridge["channels"]
            caller = name.removeprefix("tvoxcc-call-")
            leg = next((c for c in channels if c != caller), None)
            if name.startswith("tvoxcc-call-") and caller in channels and leg is not None and leg not in other_than:
                return leg, caller
        await asyncio.sleep(0.2)
    raise AssertionError(f"no agent was bridged to a caller: {pair.ari('bridges')}")


class Services:
    """The `voice run` processes of the test, each with its own log, stopped at the end."""

    def __init__(self, pair: Pair, logs: Path) -> None:
        self.pair, self.logs = pair, logs
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, host: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.logs / f"{host}-{len(self.started)}.log"
        self.started.append((self.pair.voice_run(host, log), log))
        return self.started[-1]

    def stop(self) -> None:
        for process, _ in self.started:
            stop_voice_run(process)


async def kept(pair: Pair, store: Store, before: Any, up: list[str], talks: list[tuple[str, str]]) -> None:
    """Every caller still in Asterisk, the waiting ones at the same places, the talks still bridged."""
    after = await load(store)
    assert line(after, QUEUE, "voice") == line(before, QUEUE, "voice"), "every caller at the same place"
    names = [c["name"] for c in await asyncio.to_thread(pair.ari, "channels")]
    assert sorted(n for n in names if not n.startswith("PJSIP/acme-")) == sorted(up), "no call dropped"
    bridges = await asyncio.to_thread(pair.ari, "bridges")
    bridged = {frozenset(b["channels"]) for b in bridges if b.get("name", "").startswith("tvoxcc-call-")}
    assert {frozenset(t) for t in talks} <= bridged, "the talks go on"


async def routing_pid(pair: Pair) -> int:
    status = json.loads(await asyncio.to_thread(Tvox(pair.config_path).ok, "acd", "status", "--json"))
    assert status["acd"]["routing"]
    return int(status["acd"]["pid"])


async def test_an_offer_made_while_taking_over_rings_the_agent(pair: Pair, store: Store, tmp_path: Path) -> None:
    """alice paused, a caller waiting; the active service SIGKILLed and alice unpaused meanwhile (a request in the
    store): the standby, taking over, offers the caller to alice while it takes the calls back, so her leg is
    still being originated when it compares its legs with Asterisk's channels. Found by bench/failover.py: the
    leg was taken for one lost while no service ran, the offer ended at once and alice paused for ring-no-answer;
    the callers waited for nobody. (First in the module: the other agents' phones were never registered.)"""
    services = Services(pair, tmp_path)
    active, active_log = services.start("main")
    alice = SippAgent(pair.sipp, "acme-alice", PASSWORD)
    try:
        await wait_for_line(active_log, "voice service ready", active, within=30)
        standby, standby_log = services.start("main2")
        await wait_for_line(standby_log, "waits as a standby", standby, within=30)
        await asyncio.to_thread(alice.register().check)
        await until(store, lambda s: agent(s, "acme-alice")["logged_in"], "alice logged in", 40)
        await send_input(store, InputKind.PAUSE, agent_id="acme-alice", code="lunch")
        await until(store, lambda s: agent(s, "acme-alice")["status"] == "paused", "alice paused")
        callers = pair.sipp.start(
            caller_scenario(DID, "1", wait_ms=800, hangup="them", bye_timeout_ms=60000),
            service=DID, timeout_s=90, calls=WAITING,
        )  # fmt: skip
        # enough callers that taking them back outlasts the ACD's first tick, which applies the unpause
        await until(store, lambda s: len(line(s, QUEUE, "voice")) == WAITING, f"{WAITING} waiting", 40)

        os.killpg(active.pid, signal.SIGKILL)
        active.wait(5)
        await send_input(store, InputKind.UNPAUSE, agent_id="acme-alice")
        answering = pair.sipp.answer(alice.user, port=alice.port)
        await wait_for_line(standby_log, "voice service ready", standby, within=30)
        await talking(pair, set())
        assert "paused (RONA)" not in text_of(standby_log), text_of(standby_log)[-3000:]
        await send_input(store, InputKind.PAUSE, agent_id="acme-alice", code="lunch")  # no next offer
        for channel in await asyncio.to_thread(pair.ari, "channels"):
            if not channel["name"].startswith("PJSIP/acme-"):
                await asyncio.to_thread(pair.ari, f"channels/{channel['id']}", "DELETE")
        await asyncio.to_thread(answering.wait, 30)
        await asyncio.to_thread(callers.wait, 30)
        await until(store, lambda s: not any(r["channel"] == "voice" for r in s.items), "the callers gone", 30)
    finally:
        services.stop()
        pair.sipp.cleanup()
        alice.unregister()


async def test_sigkill_then_a_network_cut_of_the_active_host_the_standby_routes_every_call(
    pair: Pair, store: Store, tmp_path: Path
) -> None:
    services = Services(pair, tmp_path)
    first, first_log = services.start("main2")
    monitor = OfferMonitor(store)
    phones = {n: SippAgent(pair.sipp, f"acme-{n}", PASSWORD) for n in NAMES}
    try:
        await wait_for_line(first_log, "voice service ready", first, within=30)
        second, second_log = services.start("main")
        await wait_for_line(second_log, "waits as a standby", second, within=30)
        for phone in phones.values():
            await asyncio.to_thread(phone.register().check)
        await until(store, lambda s: all(agent(s, f"acme-{n}")["logged_in"] for n in NAMES), "login", 40)
        # The module's first test ends with alice paused (its pause may even be applied only by this service, from
        # the store): with three agents ready the fourth talker waited for nobody (seen in CI). Inputs apply in
        # order, so this unpause comes after that pause whenever it is applied.
        await send_input(store, InputKind.UNPAUSE, agent_id="acme-alice")
        await until(store, lambda s: all(agent(s, f"acme-{n}")["status"] != "paused" for n in NAMES), "ready", 30)

        answering = [
            pair.sipp.answer(p.user, port=p.port, bye_timeout_ms=TALK_MS + 30000, timeout_s=TALK_MS // 1000 + 60)
            for p in phones.values()
        ]
        await listening([p.port for p in phones.values()])  # an offer to a phone not listening yet is a RONA
        talkers = pair.sipp.start(
            caller_scenario(DID, "1", wait_ms=800, hangup="us", hold_ms=TALK_MS),
            service=DID, timeout_s=TALK_MS // 1000 + 60, calls=len(NAMES),
        )  # fmt: skip
        talks: list[tuple[str, str]] = []
        for _ in NAMES:
            talks.append(await talking(pair, {leg for leg, _ in talks}))
        callers = pair.sipp.start(
            caller_scenario(DID, "1", wait_ms=800, hangup="them", bye_timeout_ms=150000),
            service=DID, timeout_s=180, calls=WAITING,
        )  # fmt: skip
        before = await until(store, lambda s: len(line(s, QUEUE, "voice")) == WAITING, f"{WAITING} waiting", 40)
        ivr = pair.sipp.start(
            caller_scenario(DID, wait_ms=IVR_MS, hangup="us"), service=DID, timeout_s=90, calls=IN_IVR
        )
        await asyncio.sleep(3.0)  # the IVR callers hear the menu
        in_asterisk = [c["name"] for c in await asyncio.to_thread(pair.ari, "channels")]
        up = [n for n in in_asterisk if not n.startswith("PJSIP/acme-")]
        assert len(up) == WAITING + IN_IVR + len(NAMES), in_asterisk

        # 1. SIGKILL the active service (on main2; its Asterisk goes on): main's standby routes
        killed_at = time.monotonic()
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(5)
        await wait_for_line(second_log, "voice service ready", second, within=30)
        after_kill = time.monotonic() - killed_at
        await kept(pair, store, before, up, talks)
        assert await routing_pid(pair) == second.pid
        third, third_log = services.start("main2")  # the killed one again, as the next standby
        await wait_for_line(third_log, "waits as a standby", third, within=30)

        # 2. cut main's network: cut off, its service stops by itself (lease unconfirmed for 2/3 of the ttl)
        cut_at = time.monotonic()
        pair.set_link("main", up=False)
        while second.poll() is None:
            assert time.monotonic() - cut_at < 3 * LEASE_S, text_of(second_log)[-3000:]
            await asyncio.sleep(0.1)
        stopped_after = time.monotonic() - cut_at
        assert second.returncode == EXIT_LEASE_LOST and "stops (exit 3)" in text_of(second_log)
        assert "ACD: routing" not in text_of(third_log), "the standby routed while the cut one still could"
        await wait_for_line(third_log, "ACD: routing", third, within=40)
        leased_after = time.monotonic() - cut_at
        await wait_for_line(third_log, "voice service ready", third, within=40)
        after_cut = time.monotonic() - cut_at
        print(
            f"failover on the redundant topology: SIGKILL: the standby routes after {after_kill:.1f} s; network cut:"
            f" the cut one stops after {stopped_after:.1f} s, the standby has the lease after {leased_after:.1f} s"
            f" and routes after {after_cut:.1f} s"
            f" (lease {LEASE_S} s)"
        )
        await kept(pair, store, before, up, talks)
        assert await routing_pid(pair) == third.pid

        # main's network back: the cut service is gone; started again there, it waits as a standby
        pair.set_link("main", up=True)
        fourth, fourth_log = services.start("main")
        await wait_for_line(fourth_log, "waits as a standby", fourth, within=30)
        assert await routing_pid(pair) == third.pid

        # the talks end as their callers planned; each phone answers again at once (the agent, free again after
        # its 3 s wrap-up, gets the next caller); the IVR callers hung up by themselves: none was dropped
        await asyncio.to_thread(talkers.wait, TALK_MS / 1000 + 60)
        talkers.check()
        for n, (run, phone) in enumerate(zip(answering, phones.values(), strict=True)):
            await asyncio.to_thread(run.wait, 40)
            run.check()
            answering[n] = pair.sipp.answer(phone.user, port=phone.port)
        await asyncio.to_thread(ivr.wait, 60)
        ivr.check()
        # the agents free again get the oldest callers, from the service that took over
        oldest = {row[0] for row in line(before, QUEUE, "voice")[: len(NAMES)]}
        legs = {leg for leg, _ in talks}
        served = set()
        for _ in NAMES:
            leg, caller = await talking(pair, legs)
            legs.add(leg)
            served.add(caller)
        assert served == oldest, "the next free agents get the oldest callers"
        rest = await load(store)
        assert [r[0] for r in line(rest, QUEUE, "voice")] == [r[0] for r in line(before, QUEUE, "voice")[len(NAMES) :]]
        for channel in await asyncio.to_thread(pair.ari, "channels"):
            if not channel["name"].startswith("PJSIP/acme-"):
                await asyncio.to_thread(pair.ari, f"channels/{channel['id']}", "DELETE")
        for run in answering:
            await asyncio.to_thread(run.wait, 40)
        await asyncio.to_thread(callers.wait, 40)
        await until(store, lambda s: not any(r["channel"] == "voice" for r in s.items), "callers gone", 30)
        most = await monitor.stop()
        assert monitor.reads > 100 and set(most) == {f"acme-{n}" for n in NAMES}
        assert max(most.values()) == 1, f"an agent held two calls at once: {most}"
    finally:
        await monitor.stop()
        pair.set_link("main", up=True)
        services.stop()
        pair.sipp.cleanup()
        for phone in phones.values():
            phone.unregister()
