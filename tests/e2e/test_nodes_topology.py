"""Two Asterisk nodes behind Kamailio, each in its own network namespace (`tvoxcc lab up --topology nodes=2`).

Agents' phones (sipp) register to Kamailio; callers (sipp) send to Kamailio's dispatcher; calls spread over both
nodes; a stopped node is skipped, and no call is rejected. Every phone runs on the machine's own leg of the lab's
bridge (10.213.X.1), like a phone on the office LAN.
"""

from __future__ import annotations

import os
import re
import signal
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import AGENTS, DIDS
from tests.e2e.topology_up import Topology, nodes_topology
from tvoxcc.asterisk.inputs import RenderInput
from tvoxcc.lab import netns, process
from tvoxcc.lab.sipp import Sipp, SippAgent, SippRun, caller_scenario, free_udp_port

UNKNOWN_NUMBER = "5559999"  # answered by every node's dialplan ("no service"), no voice service needed
_MESSAGE = re.compile(r"^-{47} (\S+ \S+)$", re.M)
NODE_NAMES: dict[str, str] = {}  # address -> node name, filled by the fixture


@dataclass
class CallTrace:
    call_id: str
    invite_at: float  # when sipp sent the first INVITE (epoch seconds)
    code: int | None = None  # the INVITE's final response
    answered_at: float | None = None
    node: str | None = None  # the node whose Contact came in the 200 OK

    @property
    def setup_s(self) -> float:
        return (self.answered_at or self.invite_at) - self.invite_at


def call_traces(run: SippRun) -> list[CallTrace]:
    """Every call of a sipp caller run, from its message trace."""
    text = (run.workdir / "messages.log").read_text(errors="replace")
    parts = _MESSAGE.split(text)[1:]
    calls: dict[str, CallTrace] = {}
    for stamp, chunk in zip(parts[::2], parts[1::2], strict=True):
        at = datetime.fromisoformat(stamp).timestamp()
        body = chunk.split("\n\n", 1)[-1].lstrip()
        call_id = re.search(r"(?im)^Call-ID:\s*(\S+)", body)
        cseq = re.search(r"(?im)^CSeq:\s*\d+ (\w+)", body)
        if call_id is None or cseq is None or cseq.group(1) != "INVITE":
            continue
        trace = calls.setdefault(call_id.group(1), CallTrace(call_id.group(1), at))
        status = re.match(r"SIP/2\.0 (\d{3})", body)
        if "message sent" in chunk.split("\n", 2)[1] or status is None or int(status.group(1)) < 200:
            continue
        if trace.code is None:
            trace.code, trace.answered_at = int(status.group(1)), at
            contact = re.search(r"(?im)^Contact:\s*<sip:(?:[^@>]*@)?([0-9.]+)", body)
            trace.node = NODE_NAMES.get(contact.group(1)) if contact and trace.code == 200 else None
    return list(calls.values())


class Topo(Topology):
    def callers(self, calls: int) -> SippRun:
        scenario = caller_scenario(UNKNOWN_NUMBER, wait_ms=300)
        return self.sipp.start(scenario, service=UNKNOWN_NUMBER, calls=calls, timeout_s=30).wait(60)

    def answered_by(self, run: SippRun) -> list[str]:
        """The node that answered each call, in the order the calls were sent."""
        return [c.node or "none" for c in sorted(call_traces(run), key=lambda c: c.invite_at)]

    def wait_reachable(self, node: str, endpoint: str, within: float = 20.0) -> None:
        """Until ``node`` sees the phone online: it learns so from its OPTIONS through Kamailio (every 5 s), and
        refuses to ring a phone it has not seen yet (500 "Allocation failed")."""
        deadline = time.monotonic() + within
        while self.ari(node, f"endpoints/PJSIP/{urllib.parse.quote(endpoint)}")["state"] != "online":
            assert time.monotonic() < deadline, f"{node} never saw {endpoint} online"
            time.sleep(0.2)

    def originate(self, node: str, endpoint: str) -> None:
        """Node ``node`` calls ``endpoint`` (an agent's phone) over ARI; the answered leg then plays "no service"."""
        self.wait_reachable(node, endpoint)
        query = urllib.parse.urlencode(
            {"endpoint": f"PJSIP/{endpoint}", "extension": UNKNOWN_NUMBER, "context": "tvoxcc-inbound"}
        )
        self.ari(node, f"channels?{query}", "POST")  # an error status raises


@pytest.fixture(scope="module")
def topo() -> Iterator[Topo]:
    with nodes_topology("tvoxcc-topo-", kind=Topo) as up:
        NODE_NAMES.update({node["address"]: node["name"] for node in up.state["nodes"]})
        yield up


def test_agents_register_to_kamailio_and_every_node_reaches_them(topo: Topo) -> None:
    alice = AGENTS[0]
    phone = SippAgent(topo.sipp, alice.endpoint, alice.password)
    phone.register().check()
    answering = topo.sipp.answer(alice.endpoint, port=phone.port, calls=2)
    topo.originate("node1", alice.endpoint)
    topo.originate("node2", alice.endpoint)
    answering.wait(60).check()
    log = (answering.workdir / "messages.log").read_text(errors="replace")
    # Both INVITEs came through Kamailio (its Record-Route), one from each node (their Contact).
    assert log.count(f"Record-Route: <sip:{topo.state['kamailio']['host']};lr") >= 2, log[-3000:]
    for name in ("node1", "node2"):
        node = topo.node(name)
        assert f"Via: SIP/2.0/UDP {node['address']}:{node['sip_port']}" in log, f"no call from {name}:\n{log[-3000:]}"


def test_kamailio_refuses_a_wrong_password(topo: Topo) -> None:
    bob = AGENTS[1]
    run = topo.sipp.register(bob.endpoint, "not-" + bob.password, port=free_udp_port())
    assert run.returncode != 0, run.errors
    assert "401" in (run.workdir / "messages.log").read_text(errors="replace")


def test_an_agents_own_call_needs_its_password_at_kamailio(topo: Topo) -> None:
    alice = AGENTS[0]
    # *75 (agent status) exists only in the agents' context: the node took the call as alice's.
    topo.sipp.dial(alice.endpoint, alice.password, "*75", challenge=407).check()
    forged = caller_scenario(UNKNOWN_NUMBER, user=alice.endpoint, wait_ms=300)  # From alice, no password
    run = topo.sipp.start(forged, service=UNKNOWN_NUMBER, timeout_s=8).wait(30)
    assert run.returncode != 0, "a call claiming to be an agent went through without the agent's password"
    assert "SIP/2.0 407" in (run.workdir / "messages.log").read_text(errors="replace")


def test_a_node_takes_sip_only_from_kamailio(topo: Topo) -> None:
    direct = Sipp(topo.node("node1")["address"], topo.node("node1")["sip_port"], local_ip=topo.state["machine_address"])
    try:
        scenario = caller_scenario(UNKNOWN_NUMBER, wait_ms=300)
        run = direct.start(scenario, service=UNKNOWN_NUMBER, timeout_s=8).wait(30)
        assert run.returncode != 0, "a node answered a call that did not come through Kamailio"
    finally:
        direct.cleanup()


def test_calls_spread_over_both_nodes(topo: Topo) -> None:
    run = topo.callers(8).check()
    nodes = topo.answered_by(run)
    assert len(nodes) == 8, run.errors
    assert set(nodes) == {"node1", "node2"}, nodes


def test_under_a_steady_load_a_crashed_node_is_skipped_and_no_later_call_is_rejected(topo: Topo) -> None:
    """2 new calls a second for 30 s, each held 2 s; node1's Asterisk SIGKILLed 8 s in. Its calls in progress end
    (nothing can save them); every call sent after the crash is answered, by node2."""
    scenario = caller_scenario(UNKNOWN_NUMBER, wait_ms=2000)
    load = topo.sipp.start(scenario, service=UNKNOWN_NUMBER, calls=60, rate=2, timeout_s=90)
    time.sleep(8)
    pid = process.read_pid(Path(topo.node("node1")["state_dir"]) / "asterisk.pid")
    assert pid is not None and process.alive(pid)
    crashed_at = time.time()
    os.kill(pid, signal.SIGKILL)
    load.wait(120)
    calls = call_traces(load)
    assert len(calls) == 60, load.errors
    before = [c for c in calls if c.invite_at < crashed_at - 3]
    after = [c for c in calls if c.invite_at > crashed_at]
    assert {c.node for c in before} == {"node1", "node2"}, before
    rejected = [c for c in after if c.code != 200 or c.node != "node2"]
    assert not rejected, rejected
    # For the README: calls sent to node1 before Kamailio's probe marked it down waited fr_timer (2 s) first.
    delayed = [round(c.invite_at - crashed_at, 1) for c in after if c.setup_s > 1.5]
    print(f"node crash: {len(after)} calls after it, all answered by node2; delayed by the failover: {delayed}")


def test_a_restarted_node_gets_calls_again(topo: Topo) -> None:
    topo.lab.start_node("node1", RenderInput.from_settings(topo.settings, AGENTS, DIDS))
    time.sleep(2 * topo.settings.kamailio.probe_seconds + 1)  # one probe answered: back in rotation
    run = topo.callers(8).check()
    assert set(topo.answered_by(run)) == {"node1", "node2"}


def test_down_after_a_crash_removes_every_namespace_veth_and_process(topo: Topo) -> None:
    """Last in this module: the lab is gone afterwards."""
    prefix = f"tvx{topo.lab.lab_id}"
    pids = netns.pids_in(topo.node("node2")["namespace"]) + netns.pids_in(topo.state["kamailio"]["namespace"])
    assert pids
    topo.lab.state_file.unlink()  # a crash: nothing says what is up
    (topo.lab.kamailio_dir / "kamailio.pid").unlink()
    topo.lab.down()
    assert netns.namespaces(prefix) == []
    assert prefix not in os.popen("ip -o link show").read()
    assert not [pid for pid in pids if process.alive(pid)]
    roots = [Path(node["state_dir"]) / "root" for node in topo.state["nodes"]]
    assert not [root for root in roots if os.path.ismount(root)]  # each node's overlay unmounted
