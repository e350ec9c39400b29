"""A multi-host lab on one machine: a topology's hosts as network namespaces, an Asterisk node (its own root
copy) in each node's namespace, Kamailio in the `sip` host's namespace in front of them.

state_dir/topology.json       what is up: the spec, the subnet, each host's namespace and address
state_dir/base/               the lab image extracted once
state_dir/nodes/NAME/         one node's lab state dir: root/ (an overlay over base/), asterisk.pid, asterisk.out
state_dir/kamailio/           kamailio.cfg, dispatcher.list, kamailio.pid, kamailio.out, run/
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tvoxcc.asterisk.inputs import RenderInput
from tvoxcc.asterisk.node import node_input
from tvoxcc.config import Settings
from tvoxcc.kamailio import process as kamailio_process
from tvoxcc.kamailio.inputs import DispatchNode, KamailioInput
from tvoxcc.kamailio.render import CONFIG_NAME, write_configs
from tvoxcc.lab import image, netns, overlay, process
from tvoxcc.lab.errors import LabError
from tvoxcc.lab.lab import Lab, ensure_rootfs, require_root
from tvoxcc.lab.topology import Host, Role, Topology, Wiring, parse_topology, pick_third_octet

KAMAILIO_PORT = 5060
STATE_NAME = "topology.json"
NETWORK_LOCK = Path("/run/tvoxcc-lab-network.lock")  # machine-wide: the 10.213.X.0/24 subnets are too


def _say_stderr(message: str) -> None:
    print(f"lab: {message}", file=sys.stderr, flush=True)


def node_settings(settings: Settings, address: str, root: Path) -> Settings:
    """The lab's settings moved to one node: ARI, AMI and SIP on the node's address, configs in its root."""
    ast = settings.asterisk
    port = ast.ari_url.rsplit(":", 1)[1]
    moved = ast.model_copy(
        update={
            "ari_url": f"http://{address}:{port}",
            "ami_host": address,
            "sip_host": address,
            "config_dir": root / "etc/asterisk",
            "sounds_dir": root / "usr/share/asterisk/sounds",
        }
    )
    return settings.model_copy(update={"asterisk": moved})


@dataclass
class TopologyLab:
    settings: Settings
    state_dir: Path
    say: Callable[[str], None] = field(default=_say_stderr)

    @classmethod
    def default(cls, settings: Settings, say: Callable[[str], None] = _say_stderr) -> TopologyLab:
        return cls(settings, settings.data_dir / "lab-topology", say)

    @property
    def lab_id(self) -> str:
        return Wiring.lab_id_of(str(self.state_dir.resolve()))

    @property
    def state_file(self) -> Path:
        return self.state_dir / STATE_NAME

    @property
    def kamailio_dir(self) -> Path:
        return self.state_dir / "kamailio"

    def node_lab(self, host: Host, wiring: Wiring) -> Lab:
        state_dir = self.state_dir / "nodes" / host.name
        settings = node_settings(self.settings, wiring.address(host), state_dir / "root")
        return Lab(settings, state_dir, lambda m: self.say(f"{host.name}: {m}"), namespace=wiring.namespace(host))

    def read_state(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.state_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _describe(self, topology: Topology, wiring: Wiring) -> dict[str, Any]:
        ari_port = self.settings.asterisk.ari_url.rsplit(":", 1)[1]
        (sip,) = topology.with_role(Role.KAMAILIO)
        return {
            "spec": topology.spec,
            "lab_id": wiring.lab_id,
            "third_octet": wiring.third_octet,
            "subnet": wiring.subnet,
            "machine_address": wiring.machine_address,
            "kamailio": {"host": wiring.address(sip), "port": KAMAILIO_PORT, "namespace": wiring.namespace(sip)},
            "hosts": [
                {
                    "name": h.name,
                    "roles": [str(r) for r in h.roles],
                    "namespace": wiring.namespace(h),
                    "address": wiring.address(h),
                }
                for h in topology.hosts
            ],
            "nodes": [
                {
                    "name": h.name,
                    "address": wiring.address(h),
                    "namespace": wiring.namespace(h),
                    "ari_url": f"http://{wiring.address(h)}:{ari_port}",
                    "sip_port": self.settings.asterisk.sip_port,
                    "state_dir": str(self.state_dir / "nodes" / h.name),
                }
                for h in topology.with_role(Role.ASTERISK)
            ],
        }

    def up(self, spec: str, inp: RenderInput) -> dict[str, Any]:
        """Network, Kamailio, then every Asterisk node (each waits for its ARI); everything undone on failure."""
        require_root()
        topology = parse_topology(spec)
        started = time.monotonic()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.chmod(0o755)  # Asterisk drops to its own user: the path must be traversable
        with image.locked(self.state_dir / ".lock", self.say, "lab command on this topology"):
            state = self.read_state()
            if state is not None and netns.namespaces(f"tvx{self.lab_id}"):
                if state.get("spec") != topology.spec:
                    raise LabError(f"topology {state.get('spec')} is up in {self.state_dir}: `tvoxcc lab down` first")
                self.say(f"topology {topology.spec} already up")
                return state
            self._teardown()  # leftovers of a crash
            # Two labs started at once (parallel test workers) must not both see a subnet free and take it.
            with image.locked(NETWORK_LOCK, self.say, "lab picking its subnet"):
                wiring = Wiring(self.lab_id, pick_third_octet(self.lab_id, netns.taken_octets()))
                description = self._describe(topology, wiring)
                self.say(f"network {wiring.subnet}: {len(topology.hosts)} hosts, bridge in {wiring.bridge_namespace}")
                netns.create(topology, wiring)
            try:
                self.state_file.write_text(json.dumps(description, indent=2))
                self._start_kamailio(topology, wiring, inp)
                ensure_rootfs(self.settings, self.state_dir / "base", self.say)
                for host in topology.with_role(Role.ASTERISK):
                    overlay.mount(self.state_dir / "base", self.state_dir / "nodes" / host.name)
                    proxy = wiring.address(topology.with_role(Role.KAMAILIO)[0])
                    self.node_lab(host, wiring).up(
                        node_input(inp, wiring.address(host), proxy, KAMAILIO_PORT, host.name)
                    )
            except BaseException:
                self._teardown()
                raise
        self.say(f"topology {topology.spec} up in {time.monotonic() - started:.1f} s")
        return description

    def _start_kamailio(self, topology: Topology, wiring: Wiring, inp: RenderInput) -> None:
        (sip,) = topology.with_role(Role.KAMAILIO)
        nodes = tuple(
            DispatchNode(h.name, wiring.address(h), self.settings.asterisk.sip_port)
            for h in topology.with_role(Role.ASTERISK)
        )
        kam = KamailioInput(wiring.address(sip), KAMAILIO_PORT, nodes, inp.agents, self.settings.kamailio.probe_seconds)
        write_configs(kam, self.kamailio_dir)
        out_log = self.kamailio_dir / "kamailio.out"
        namespace = wiring.namespace(sip)
        pid = kamailio_process.start(
            self.kamailio_dir / CONFIG_NAME,
            self.kamailio_dir / "run",
            self.kamailio_dir / "kamailio.pid",
            out_log,
            namespace,
        )
        kamailio_process.wait_ready(pid, KAMAILIO_PORT, namespace, out_log)
        self.say(f"Kamailio up (pid {pid}) on {wiring.address(sip)}:{KAMAILIO_PORT}, {len(nodes)} node(s)")

    def _node(self, name: str) -> tuple[Lab, dict[str, Any], Host, Wiring]:
        state = self.read_state()
        if state is None:
            raise LabError(f"no topology is up in {self.state_dir}")
        topology = parse_topology(state["spec"])
        host = next((h for h in topology.with_role(Role.ASTERISK) if h.name == name), None)
        if host is None:
            raise LabError(f"no Asterisk node {name!r} in topology {state['spec']}")
        wiring = Wiring(state["lab_id"], state["third_octet"])
        return self.node_lab(host, wiring), state, host, wiring

    def stop_node(self, name: str) -> int | None:
        """Stop one node's Asterisk (a node failure); returns its PID, None if it was not running."""
        return self._node(name)[0].down()

    def start_node(self, name: str, inp: RenderInput) -> int:
        """Start one node's Asterisk again (its root is kept); Kamailio's probes bring it back into rotation."""
        lab, state, host, wiring = self._node(name)
        return lab.up(node_input(inp, wiring.address(host), state["kamailio"]["host"], KAMAILIO_PORT, host.name))

    def down(self) -> list[str]:
        """Stop Asterisk nodes and Kamailio, remove every namespace, veth and the bridge; returns the namespaces."""
        require_root()
        if not self.state_dir.exists() and not netns.namespaces(f"tvx{self.lab_id}"):
            return []  # never brought up here: nothing to find
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with image.locked(self.state_dir / ".lock", self.say, "lab command on this topology"):
            return self._teardown()

    def _teardown(self) -> list[str]:
        for pid_file in sorted(self.state_dir.glob("nodes/*/asterisk.pid")):
            pid = process.read_pid(pid_file)
            if pid is not None and process.is_ours(pid, pid_file.parent / "root"):
                process.stop(pid)
                self.say(f"{pid_file.parent.name}: Asterisk stopped (pid {pid})")
            pid_file.unlink(missing_ok=True)
        kamailio_pid_file = self.kamailio_dir / "kamailio.pid"
        pid = process.read_pid(kamailio_pid_file)
        if pid is not None and kamailio_process.is_ours(pid):
            process.stop(pid)
            self.say(f"Kamailio stopped (pid {pid})")
        kamailio_pid_file.unlink(missing_ok=True)
        removed = netns.destroy(f"tvx{self.lab_id}")  # and whatever still ran in them
        for root in sorted(self.state_dir.glob("nodes/*/root")):
            overlay.unmount(root)
        if removed:
            self.say(f"removed {len(removed)} namespaces (and their veths and bridge)")
        self.state_file.unlink(missing_ok=True)
        return removed

    def status(self) -> dict[str, Any] | None:
        state = self.read_state()
        if state is None:
            return None
        for node in state["nodes"]:
            pid = process.read_pid(Path(node["state_dir"]) / "asterisk.pid")
            node["running"] = pid is not None and process.is_ours(pid, Path(node["state_dir"]) / "root")
        pid = process.read_pid(self.kamailio_dir / "kamailio.pid")
        state["kamailio"]["running"] = pid is not None and kamailio_process.is_ours(pid)
        state["namespaces_present"] = len(netns.namespaces(f"tvx{self.lab_id}"))
        return state
