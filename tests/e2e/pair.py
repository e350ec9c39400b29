"""A redundant pair on the namespace topology (`lab up --topology redundant`), for the failover test and bench.

Hosts main and main2 each run `voice run` in their own network namespace; the store is a PostgreSQL in the db
host's namespace, reached over the lab's bridge (so cutting a host's link cuts its store too); the calls sit on
main2's Asterisk node behind Kamailio (main's node is stopped: a call on a cut host's own Asterisk is lost with
it, the node-failure case). Phones and callers (sipp) run on the machine's leg of the bridge.

    with redundant_pair(base, agents, dids, lease_s=6) as pair:
        pair.tvox.ok("import", ...)                  # the tenant, on the pair's store
        process = pair.voice_run("main", log)        # `voice run` in main's namespace
        pair.set_link("main", up=False)              # main's network cut (its veth down, inside its namespace)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.cli import Tvox
from tests.e2e.topology_up import Topology, topology_up
from tests.servers.postgres import PostgresServer, start_postgres
from tvoxcc.asterisk.inputs import AgentPhone, Did
from tvoxcc.config import Settings, load_settings
from tvoxcc.lab.sipp import Sipp
from tvoxcc.lab.topology import Wiring, parse_topology
from tvoxcc.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
CALLS_ON = "main2"  # the Asterisk node every call sits on


@dataclass
class Pair:
    topology: Topology
    settings: Settings  # the services': PostgreSQL on db, the Asterisk node main2 behind Kamailio
    config_path: Path
    postgres: PostgresServer

    @property
    def tvox(self) -> Tvox:
        return Tvox(self.config_path)

    @property
    def sipp(self) -> Sipp:
        """Aimed at Kamailio from the machine's leg."""
        return self.topology.sipp

    @property
    def sounds_dir(self) -> Path:
        """Where the calls' node plays prompts from (`prompts render --out`)."""
        return self.topology.sounds_dir(CALLS_ON)

    def node(self) -> dict[str, Any]:
        return self.topology.node(CALLS_ON)

    def leg(self, name: str) -> str:
        """The veth end inside host ``name``'s namespace: its only way out."""
        (host,) = [h for h in parse_topology("redundant").hosts if h.name == name]
        return Wiring(self.topology.state["lab_id"], self.topology.state["third_octet"]).host_leg(host)

    def set_link(self, name: str, up: bool) -> None:
        namespace = self.topology.host(name)["namespace"]
        subprocess.run(["ip", "-n", namespace, "link", "set", self.leg(name), "up" if up else "down"], check=True)

    def ari(self, path: str, method: str = "GET") -> Any:
        """The calls' Asterisk, over ARI."""
        return self.topology.ari(CALLS_ON, path, method)

    def voice_run(self, host: str, log: Path) -> subprocess.Popen[bytes]:
        """`tvoxcc voice run` in host ``host``'s namespace (`ip netns exec` execs it: the PID is the service's)."""
        env = {**os.environ, "TVOXCC_CONFIG": str(self.config_path), "PYTHONPATH": str(ROOT)}
        namespace = self.topology.host(host)["namespace"]
        return subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-m", "tvoxcc", "voice", "run"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_voice_run(process: subprocess.Popen[bytes] | None, within: float = 15.0) -> None:
    """SIGTERM to a `voice run`'s process group (``voice_run`` starts it in its own), SIGKILL if it has not ended
    ``within`` s later."""
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(within)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def services_config(up: Topology, database_url: str, lease_s: float) -> Path:
    """The lab's config with the store on db's PostgreSQL and the voice service on main2's node via Kamailio."""
    text = up.config_path.read_text()
    start = text.index("[database]")
    end = text.index("[", start + 1)
    state, node = up.state, up.node(CALLS_ON)
    text = text[:start] + f'[database]\nurl = "{database_url}"\n\n' + text[end:]
    text += (
        f'\n[kamailio]\nsip_host = "{state["kamailio"]["host"]}"\nsip_port = {state["kamailio"]["port"]}\n'
        f'\n[[kamailio.nodes]]\nname = "{CALLS_ON}"\nhost = "{node["address"]}"\n'
        f"\n[voice]\nlease_seconds = {lease_s}\n"
    )
    path = up.config_path.with_name("services.toml")
    path.write_text(text)
    path.chmod(0o600)
    return path


@contextmanager
def redundant_pair(
    base: Path,
    agents: tuple[AgentPhone, ...],
    dids: tuple[Did, ...],
    *,
    lab_cache: Path,
    lease_s: float,
    say: Callable[[str], None] | None = None,
) -> Iterator[Pair]:
    """The topology up in ``base`` (0755: Asterisk drops to its own user), main's node stopped, PostgreSQL up and
    migrated in db's namespace; everything stopped and removed afterwards."""
    with topology_up(base, "redundant", agents, dids, lab_cache=lab_cache, kind=Topology, say=say) as up:
        up.lab.stop_node("main")  # every call on main2's node
        db = up.host("db")
        postgres = start_postgres(namespace=db["namespace"], address=db["address"])
        try:
            config_path = services_config(up, postgres.url(), lease_s)
            upgrade(postgres.url())
            time.sleep(2 * up.settings.kamailio.probe_seconds + 1)  # Kamailio's probes: main's node out of rotation
            yield Pair(up, load_settings(config_path), config_path, postgres)
        finally:
            postgres.stop()
