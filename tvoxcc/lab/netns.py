"""Build and tear down a topology's network with `ip`: one namespace per host, veths to a bridge.

The bridge lives in its own namespace (the "switch"), so deleting the lab's namespaces removes the bridge and
every veth with them; the machine's management leg dies with its peer. `destroy` finds everything by the lab's
name prefix, so it works after a crash that left no state behind.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Sequence

from tvoxcc.lab.errors import LabError
from tvoxcc.lab.topology import SUBNET_PREFIX, Topology, Wiring, machine_leg_of

_OCTET = re.compile(rf"\b{re.escape(SUBNET_PREFIX)}\.([0-9]{{1,3}})\.")


def _ip(*args: str, check: bool = True) -> str:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise LabError(f"ip {' '.join(args)} failed: {result.stderr.strip() or result.returncode}")
    return result.stdout


def in_namespace(namespace: str, command: Sequence[str]) -> list[str]:
    """``command`` run inside ``namespace`` (`ip netns exec` execs it: the PID stays the command's)."""
    return ["ip", "netns", "exec", namespace, *command]


def taken_octets() -> set[int]:
    """Every X of 10.213.X.0/24 the machine already has an address or route in."""
    text = _ip("-4", "-o", "addr", "show") + _ip("-4", "route", "show", "table", "all")
    return {int(m.group(1)) for m in _OCTET.finditer(text)}


def namespaces(prefix: str) -> list[str]:
    names = [line.split()[0] for line in _ip("netns", "list").splitlines() if line.strip()]
    return [name for name in names if name.startswith(f"{prefix}-")]


def create(topology: Topology, wiring: Wiring) -> None:
    """Create the switch, the machine's leg and one namespace per host; undo everything on failure."""
    try:
        _create(topology, wiring)
    except BaseException:
        destroy(wiring.prefix)
        raise


def _create(topology: Topology, wiring: Wiring) -> None:
    switch = wiring.bridge_namespace
    _ip("netns", "add", switch)
    _ip("-n", switch, "link", "set", "lo", "up")
    _ip("-n", switch, "link", "add", wiring.bridge, "type", "bridge")
    _ip("-n", switch, "link", "set", wiring.bridge, "up")
    machine_peer = wiring.bridge_leg(1)
    _ip("link", "add", wiring.machine_leg, "type", "veth", "peer", "name", machine_peer, "netns", switch)
    _ip("-n", switch, "link", "set", machine_peer, "master", wiring.bridge, "up")
    _ip("addr", "add", f"{wiring.machine_address}/24", "dev", wiring.machine_leg)
    _ip("link", "set", wiring.machine_leg, "up")
    for host in topology.hosts:
        namespace = wiring.namespace(host)
        leg, peer = wiring.host_leg(host), wiring.bridge_leg(host.index)
        _ip("netns", "add", namespace)
        _ip("-n", namespace, "link", "set", "lo", "up")
        _ip("link", "add", leg, "netns", namespace, "type", "veth", "peer", "name", peer, "netns", switch)
        _ip("-n", switch, "link", "set", peer, "master", wiring.bridge, "up")
        _ip("-n", namespace, "addr", "add", f"{wiring.address(host)}/24", "dev", leg)
        _ip("-n", namespace, "link", "set", leg, "up")


def pids_in(namespace: str) -> list[int]:
    out = _ip("netns", "pids", namespace, check=False)
    return [int(word) for word in out.split() if word.isdigit()]


def _kill_leftovers(namespace: str) -> int:
    """SIGKILL what still runs in ``namespace`` (started by this lab: nothing else enters its namespaces)."""
    pids = pids_in(namespace)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + 5.0
    while pids_in(namespace) and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(pids)


def destroy(prefix: str) -> list[str]:
    """Remove every namespace of the lab (and so its bridge and veths), killing what is left in them."""
    removed = []
    for namespace in namespaces(prefix):
        _kill_leftovers(namespace)
        _ip("netns", "del", namespace)
        removed.append(namespace)
    machine_leg = machine_leg_of(prefix)
    if machine_leg in _ip("-o", "link", "show"):
        _ip("link", "del", machine_leg, check=False)
    return removed
