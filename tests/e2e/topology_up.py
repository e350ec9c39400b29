"""A namespace topology of the lab (`lab up --topology …`) up for an e2e module or a bench, taken down afterwards.

The one place that writes the lab's config in a scratch directory, brings the topology up with the test agents
and DIDs, and aims sipp at Kamailio from the machine's leg of the lab's bridge (like a phone on the office LAN):

    need_namespaces("psql")                                     # root and the tools, else the component fails
    with scratch_dir("tvoxcc-x-") as base, topology_up(base, "redundant", AGENTS, DIDS, lab_cache=LAB_CACHE,
                                                       kind=Topology) as up:
        up.node("main2"), up.sipp, up.config_path               # the lab's config: SQLite store, one node's ARI
    with nodes_topology("tvoxcc-y-", kind=Topology) as up:     # all of it for two nodes and the e2e agents
        up.ari("node1", "channels")
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.components import component_missing, require_program
from tests.e2e.ari_http import ari_json
from tvoxcc.asterisk.inputs import AgentPhone, Did, RenderInput
from tvoxcc.config import Settings, load_settings
from tvoxcc.lab.config import write_lab_config
from tvoxcc.lab.sipp import Sipp
from tvoxcc.lab.topology_lab import TopologyLab

NAMESPACE_TOOLS = ("sipp", "chroot", "zstd", "debootstrap", "kamailio", "ip")


@dataclass
class Topology:
    lab: TopologyLab
    settings: Settings  # the lab's config's (a module may put its own in its place)
    state: dict[str, Any]  # what `lab up` wrote: nodes, hosts, kamailio, the machine's address
    sipp: Sipp  # aimed at Kamailio from the machine's leg
    config_path: Path  # the lab's config file

    def node(self, name: str) -> dict[str, Any]:
        return next(n for n in self.state["nodes"] if n["name"] == name)

    def host(self, name: str) -> dict[str, Any]:
        return next(h for h in self.state["hosts"] if h["name"] == name)

    def ari(self, node: str, path: str, method: str = "GET") -> Any:
        """Node ``node``'s Asterisk over ARI, from the machine's leg: the JSON answered, or None."""
        return ari_json(self.node(node)["ari_url"], self.settings.asterisk, path, method)

    def sounds_dir(self, node: str) -> Path:
        """Where node ``node`` plays prompts from (`prompts render --out`)."""
        return Path(self.node(node)["state_dir"]) / "root/usr/share/asterisk/sounds"


T = TypeVar("T", bound=Topology)


def need_namespaces(*tools: str) -> None:
    """Fail (tests/components.py) unless network namespaces can be made here and every tool is installed."""
    if os.geteuid() != 0:
        component_missing("network namespaces and the lab Asterisk need root")
    for tool in (*NAMESPACE_TOOLS, *tools):
        require_program(tool, "scripts/system-deps.sh installs it")


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A fresh directory, its own lab id, subnet and namespaces (topology.py); removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    base.chmod(0o755)  # Asterisk drops to its own user: every directory on the path must be traversable
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def topology_up(
    base: Path,
    topology: str,
    agents: tuple[AgentPhone, ...],
    dids: tuple[Did, ...],
    *,
    lab_cache: Path,
    kind: type[T],
    say: Callable[[str], None] | None = None,
) -> Iterator[T]:
    """``lab up --topology topology`` in ``base`` with ``agents`` and ``dids``, as a ``kind``; down afterwards."""
    config_path = write_lab_config(base, base / "lab", lab_cache)
    settings = load_settings(config_path)
    lab = TopologyLab(settings, base / "topology", say) if say else TopologyLab(settings, base / "topology")
    try:
        state = lab.up(topology, RenderInput.from_settings(settings, agents, dids))
        phones = Sipp(state["kamailio"]["host"], state["kamailio"]["port"], local_ip=state["machine_address"])
        try:
            yield kind(lab, settings, state, phones, config_path)
        finally:
            phones.cleanup()
    finally:
        lab.down()


@contextmanager
def nodes_topology(prefix: str, *, kind: type[T]) -> Iterator[T]:
    """Two Asterisk nodes behind Kamailio (`nodes=2`) with tests/e2e/conftest.py's agents and DIDs, in a scratch
    directory named ``prefix…``; failing unless root and the tools are there."""
    from tests.e2e.conftest import AGENTS, DIDS, LAB_CACHE  # the e2e lab's: a bench brings its own

    need_namespaces()
    with scratch_dir(prefix) as base, topology_up(base, "nodes=2", AGENTS, DIDS, lab_cache=LAB_CACHE, kind=kind) as up:
        yield up
