"""One voice service over two Asterisk nodes behind Kamailio against the same service on one node, same run.

Aim: with two nodes the voice service spends <= 1.25x the CPU per call it spends on one node (the cost of routing
every ARI request to its node and of a websocket per node), >= 99 % of calls reach an agent on each path, and
with two nodes calls reach agents through both.

Set-up (needs root, like the lab tests): `lab up --topology nodes=2` (Kamailio and two Asterisk nodes, each in
its own network namespace); AGENTS sipp agent phones registered to Kamailio from the machine's leg of the lab's
bridge, answering at once and hanging up after 1 s; a tenant whose DID's IVR goes straight to a queue holding
every agent (bench/voice.py's). Baseline: node2 stopped (Kamailio's probes take it out), `voice run` configured
with node1's ARI alone (the plain single-node path). Then node2 started again and `voice run` configured with
both nodes (``[[kamailio.nodes]]``). Each path: callers (sipp, through Kamailio's dispatcher) at RATE calls/s
for STEP seconds; per path the share of calls that reached an agent, the voice service's CPU (user + system,
/proc/PID/stat) from just before the first call to a few seconds after the last one, per call reached, and
which nodes the calls entered (their channel ids carry the node's name). ``--quick``: 10 calls/s for 8 s.
Last line: ``ratio voice CPU per call 2 nodes/1 node: X``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _contract import Aim, arguments
from _voice_sip import AGENT_VIA_PROXY, AgentPhones, CallerResult, register_agents, run_callers
from voice import DID, LAB_CACHE, PASSWORD, TENANT, cpu_ms, tenant_yaml

from tvoxcc.asterisk.inputs import AgentPhone, Did, RenderInput
from tvoxcc.config import load_settings
from tvoxcc.lab.config import free_port, write_lab_config
from tvoxcc.lab.topology_lab import TopologyLab

AIM_CPU_RATIO = 1.25
AIM_SUCCESS = 0.99
SETTLE_S = 3.0


class Bench:
    def __init__(self, agents: int, rate: float, step_s: float) -> None:
        self.agents, self.rate, self.step_s = agents, rate, step_s
        self.base = Path(tempfile.mkdtemp(prefix="tvoxcc-bench-nodes-"))
        self.base.chmod(0o755)  # Asterisk drops to its own user: every directory on the path must be traversable
        self.config = write_lab_config(self.base, self.base / "lab", LAB_CACHE)
        self.settings = load_settings(self.config)
        self.lab = TopologyLab(self.settings, self.base / "topology", say=lambda m: print(f"lab: {m}", flush=True))
        phones = tuple(AgentPhone(TENANT, f"a{i:03d}", str(2000 + i), PASSWORD) for i in range(1, agents + 1))
        self.inp = RenderInput.from_settings(self.settings, phones, (Did(DID, TENANT, "voice"),))
        self.env = {**os.environ, "TVOXCC_CONFIG": str(self.config)}
        self.state: dict[str, object] = {}
        self.voice: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, config: Path | None = None) -> None:
        env = {**self.env, "TVOXCC_CONFIG": str(config or self.config)}
        subprocess.run([sys.executable, "-m", "tvoxcc", *args], env=env, check=True, stdout=subprocess.DEVNULL)

    def up(self) -> None:
        self.state = self.lab.up("nodes=2", self.inp)
        self.kamailio = f"{self.state['kamailio']['host']}:{self.state['kamailio']['port']}"  # type: ignore[index]
        self.machine = str(self.state["machine_address"])
        self.cli("db", "upgrade")
        (self.base / "bench.yaml").write_text(tenant_yaml(self.agents))
        self.cli("import", str(self.base / "bench.yaml"))
        self.phones = AgentPhones(self.kamailio, free_port(2), local_ip=self.machine, scenario=AGENT_VIA_PROXY)
        users = [(f"{TENANT}-a{i:03d}", PASSWORD) for i in range(1, self.agents + 1)]
        register_agents(self.kamailio, self.phones.port, users, local_ip=self.machine)
        print(f"{self.agents} agent phones registered to Kamailio {self.kamailio}", flush=True)

    def node(self, name: str) -> dict[str, str]:
        nodes: list[dict[str, str]] = self.state["nodes"]  # type: ignore[assignment]
        return next(n for n in nodes if n["name"] == name)

    def write_config(self, name: str, nodes: list[str]) -> Path:
        """The lab's config, for one node (its ARI as [asterisk] ari_url) or for several ([[kamailio.nodes]])."""
        port = self.settings.asterisk.ari_url.rsplit(":", 1)[1]
        lines = self.config.read_text().splitlines()
        if len(nodes) == 1:
            address = self.node(nodes[0])["address"]
            lines = [f'ari_url = "http://{address}:{port}"' if ln.startswith("ari_url") else ln for ln in lines]
        else:
            lines += ["", "[kamailio]", f'sip_host = "{self.kamailio.split(":")[0]}"']
            for node in nodes:
                lines += ["", "[[kamailio.nodes]]", f'name = "{node}"', f'host = "{self.node(node)["address"]}"']
        path = self.base / name
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
        return path

    def start_voice(self, config: Path) -> None:
        log_path = self.base / f"{config.stem}.log"
        env = {**self.env, "TVOXCC_CONFIG": str(config)}
        with log_path.open("wb") as log:
            self.voice = subprocess.Popen(
                [sys.executable, "-m", "tvoxcc", "voice", "run"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 120
        while "voice service ready" not in log_path.read_text(errors="replace"):
            if self.voice.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"voice run did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        time.sleep(8.0)  # every node qualifies the phones at Kamailio (every 5 s): the agents logged in

    def stop_voice(self) -> None:
        if self.voice is not None:
            self.voice.terminate()
            try:
                self.voice.wait(15)
            except subprocess.TimeoutExpired:
                self.voice.kill()
                self.voice.wait()
            self.voice = None

    def step(self, path: str) -> tuple[CallerResult, int, float, dict[str, int]]:
        assert self.voice is not None
        before = self.entered()
        self.phones.start()
        time.sleep(0.5)
        cpu0 = cpu_ms(self.voice.pid)
        result = run_callers(
            self.kamailio, free_port(2), DID, self.rate, int(self.rate * self.step_s), 30000, local_ip=self.machine
        )
        time.sleep(SETTLE_S)  # the step's deferred work (batched writes) is the step's
        cpu = cpu_ms(self.voice.pid) - cpu0
        answered = self.phones.answered()
        if os.environ.get("BENCH_NODES_LOGS") and self.phones.workdir is not None:
            for log in self.phones.workdir.glob("*"):
                shutil.copy(log, os.environ["BENCH_NODES_LOGS"])
        self.phones.stop()
        after = self.entered()
        nodes = {n: after.get(n, 0) - before.get(n, 0) for n in after}
        reached = min(result.completed, answered)
        print(f"{path}: {result.completed} callers completed, {answered} answered by the agents' phones", flush=True)
        print(
            f"{path:8} {self.rate:4.0f}/s  ok {reached:5}/{result.attempted:<5} "
            f"({100 * reached / result.attempted:5.1f} %)  voice {cpu / max(reached, 1):5.2f} ms CPU/call  "
            f"calls per node {dict(sorted(nodes.items()))}",
            flush=True,
        )
        return result, reached, cpu, nodes

    def entered(self) -> dict[str, int]:
        """Voice interactions so far, by the node their channel entered (the prefix of its id)."""
        with sqlite3.connect(self.base / "tvoxcc.db") as db:
            rows = db.execute("SELECT external_id FROM interactions WHERE channel = 'voice'").fetchall()
        counts: dict[str, int] = {}
        for (external,) in rows:
            node = str(external).split("-", 1)[0]
            counts[node] = counts.get(node, 0) + 1
        return counts

    def down(self) -> None:
        self.stop_voice()
        if hasattr(self, "phones"):
            self.phones.stop()
        if keep := os.environ.get("BENCH_NODES_LOGS"):  # debugging: the voice services' logs kept there
            for log in self.base.glob("*.log"):
                shutil.copy(log, keep)
        self.lab.down()
        shutil.rmtree(self.base, ignore_errors=True)


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--rate", type=float, help="calls/s on each path (default 20, --quick 10)")
    args = parser.parse_args()
    aim = Aim(__doc__, quick=args.quick)
    if os.geteuid() != 0:
        print("error: bench/nodes.py needs root (network namespaces, the lab Asterisk in a chroot)", file=sys.stderr)
        return 2
    rate = args.rate or (10.0 if args.quick else 20.0)
    bench = Bench(args.agents, rate, 8.0 if args.quick else 20.0)
    try:
        bench.up()
        probe = bench.settings.kamailio.probe_seconds
        bench.lab.stop_node("node2")
        time.sleep(2 * probe + 2)  # Kamailio's probes: node2 out of the rotation
        bench.start_voice(bench.write_config("one-node.toml", ["node1"]))
        _, one_reached, one_cpu, one_nodes = bench.step("1 node")
        bench.stop_voice()
        bench.lab.start_node("node2", bench.inp)
        time.sleep(2 * probe + 2)  # one probe answered: node2 back in the rotation
        bench.start_voice(bench.write_config("two-nodes.toml", ["node1", "node2"]))
        two_result, two_reached, two_cpu, two_nodes = bench.step("2 nodes")
    finally:
        bench.down()
    attempted = two_result.attempted
    one_per, two_per = one_cpu / max(one_reached, 1), two_cpu / max(two_reached, 1)
    ratio = two_per / one_per if one_per else float("inf")
    print(f"voice CPU per call: 1 node {one_per:.2f} ms, 2 nodes {two_per:.2f} ms")
    aim.check(
        f"1 node: {100 * one_reached / attempted:.1f} % reached an agent >= 99 %", one_reached >= 0.99 * attempted
    )
    aim.check(
        f"2 nodes: {100 * two_reached / attempted:.1f} % reached an agent >= 99 %", two_reached >= 0.99 * attempted
    )
    aim.check(f"2 nodes: calls entered {sorted(n for n, c in two_nodes.items() if c)} = both", _both(two_nodes))
    aim.check(f"1 node: calls entered {sorted(n for n, c in one_nodes.items() if c)} = node1", _only1(one_nodes))
    aim.check(f"voice CPU per call 2 nodes/1 node {ratio:.2f} <= {AIM_CPU_RATIO}", ratio <= AIM_CPU_RATIO)
    aim.finish("voice CPU per call 2 nodes/1 node", ratio)
    return 0


def _both(nodes: dict[str, int]) -> bool:
    return nodes.get("node1", 0) > 0 and nodes.get("node2", 0) > 0


def _only1(nodes: dict[str, int]) -> bool:
    return {n for n, c in nodes.items() if c} == {"node1"}


if __name__ == "__main__":
    sys.exit(main())
