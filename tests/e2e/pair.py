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

import base64
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.cli import Tvox
from tests.servers.postgres import PostgresServer, start_postgres
from tvoxcc.asterisk.inputs import AgentPhone, Did, RenderInput
from tvoxcc.config import Settings, load_settings
from tvoxcc.lab.config import write_lab_config
from tvoxcc.lab.sipp import Sipp
from tvoxcc.lab.topology import Wiring, parse_topology
from tvoxcc.lab.topology_lab import TopologyLab
from tvoxcc.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
CALLS_ON = "main2"  # the Asterisk node every call sits on


@dataclass
class Pair:
    lab: TopologyLab
    state: dict[str, Any]
    settings: Settings  # the services': PostgreSQL on db, the Asterisk node main2 behind Kamailio
    config_path: Path
    sipp: Sipp  # aimed at Kamailio from the machine's leg
    postgres: PostgresServer

    @property
    def tvox(self) -> Tvox:
        return Tvox(self.config_path)

    @property
    def sounds_dir(self) -> Path:
        """Where the calls' node plays prompts from (`prompts render --out`)."""
        return Path(self.node()["state_dir"]) / "root/usr/share/asterisk/sounds"

    def node(self) -> dict[str, Any]:
        return next(n for n in self.state["nodes"] if n["name"] == CALLS_ON)

    def host(self, name: str) -> dict[str, Any]:
        return next(h for h in self.state["hosts"] if h["name"] == name)

    def leg(self, name: str) -> str:
        """The veth end inside host ``name``'s namespace: its only way out."""
        (host,) = [h for h in parse_topology("redundant").hosts if h.name == name]
        return Wiring(self.state["lab_id"], self.state["third_octet"]).host_leg(host)

    def set_link(self, name: str, up: bool) -> None:
        subprocess.run(
            ["ip", "-n", self.host(name)["namespace"], "link", "set", self.leg(name), "up" if up else "down"],
            check=True,
        )

    def ari(self, path: str, method: str = "GET") -> Any:
        """The calls' Asterisk, over ARI (plain urllib, from the machine's leg)."""
        ast = self.settings.asterisk
        request = urllib.request.Request(f"{self.node()['ari_url']}/ari/{path}", method=method)
        token = base64.b64encode(f"{ast.ari_user}:{ast.ari_password.get_secret_value()}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=5) as response:
            body = response.read()
        return json.loads(body) if body else None

    def voice_run(self, host: str, log: Path) -> subprocess.Popen[bytes]:
        """`tvoxcc voice run` in host ``host``'s namespace (`ip netns exec` execs it: the PID is the service's)."""
        env = {**os.environ, "TVOXCC_CONFIG": str(self.config_path), "PYTHONPATH": str(ROOT)}
        return subprocess.Popen(
            ["ip", "netns", "exec", self.host(host)["namespace"], sys.executable, "-m", "tvoxcc", "voice", "run"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def services_config(lab_config: Path, state: dict[str, Any], database_url: str, lease_s: float) -> Path:
    """The lab's config with the store on db's PostgreSQL and the voice service on main2's node via Kamailio."""
    text = lab_config.read_text()
    start = text.index("[database]")
    end = text.index("[", start + 1)
    node = next(n for n in state["nodes"] if n["name"] == CALLS_ON)
    text = text[:start] + f'[database]\nurl = "{database_url}"\n\n' + text[end:]
    text += (
        f'\n[kamailio]\nsip_host = "{state["kamailio"]["host"]}"\nsip_port = {state["kamailio"]["port"]}\n'
        f'\n[[kamailio.nodes]]\nname = "{CALLS_ON}"\nhost = "{node["address"]}"\n'
        f"\n[voice]\nlease_seconds = {lease_s}\n"
    )
    path = lab_config.with_name("services.toml")
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
    lab_config = write_lab_config(base, base / "lab", lab_cache)
    settings = load_settings(lab_config)
    lab = TopologyLab(settings, base / "topology", say) if say else TopologyLab(settings, base / "topology")
    postgres = None
    try:
        state = lab.up("redundant", RenderInput.from_settings(settings, agents, dids))
        lab.stop_node("main")  # every call on main2's node
        db = next(h for h in state["hosts"] if h["name"] == "db")
        postgres = start_postgres(namespace=db["namespace"], address=db["address"])
        config_path = services_config(lab_config, state, postgres.url(), lease_s)
        upgrade(postgres.url())
        time.sleep(2 * settings.kamailio.probe_seconds + 1)  # Kamailio's probes: main's node out of rotation
        phones = Sipp(state["kamailio"]["host"], state["kamailio"]["port"], local_ip=state["machine_address"])
        try:
            yield Pair(lab, state, load_settings(config_path), config_path, phones, postgres)
        finally:
            phones.cleanup()
    finally:
        if postgres is not None:
            postgres.stop()
        lab.down()
