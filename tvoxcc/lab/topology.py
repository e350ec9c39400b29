"""The lab's multi-host topologies as plain values: which hosts, what each runs, their names and addresses.

No I/O here: tvoxcc/lab/netns.py builds a plan with `ip`, tvoxcc/lab/topology_lab.py starts what runs on it.

Every host is a network namespace with one veth leg on a bridge, in a private /24 (10.213.X.0/24). The
machine itself gets ``.1`` on the same bridge (a management leg) so tests and the CLI reach every host; no
namespace has a default route and the machine does not forward, so nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum

MAX_NODES = 20
SUBNET_PREFIX = "10.213"
_NODES = re.compile(r"^nodes=([0-9]{1,2})$")


class TopologyError(ValueError):
    """A --topology value the lab cannot build."""


class Role(StrEnum):
    ASTERISK = "asterisk"  # an Asterisk node (its own root copy, ARI/AMI/SIP on the host's address)
    KAMAILIO = "kamailio"  # registrar for the agents' phones, dispatcher over the Asterisk nodes
    SERVICES = "services"  # voice/web services (tvoxcc processes a test starts in the namespace)
    SUPPORT = "support"  # the Support host (mail, tickets)
    DATABASE = "db"  # the store


class Kind(StrEnum):
    REDUNDANT = "redundant"
    NODES = "nodes"


@dataclass(frozen=True)
class Host:
    name: str
    roles: tuple[Role, ...]
    index: int  # the last octet of its address, and part of its interface names

    def runs(self, role: Role) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class Topology:
    kind: Kind
    hosts: tuple[Host, ...]

    def with_role(self, role: Role) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.runs(role))

    @property
    def spec(self) -> str:
        nodes = len(self.with_role(Role.ASTERISK))
        return "redundant" if self.kind is Kind.REDUNDANT else f"nodes={nodes}"


def parse_topology(spec: str) -> Topology:
    """``redundant`` or ``nodes=N`` (1..MAX_NODES)."""
    sip = Host("sip", (Role.KAMAILIO,), 10)
    if spec == Kind.REDUNDANT:
        return Topology(
            Kind.REDUNDANT,
            (
                sip,
                Host("main", (Role.ASTERISK, Role.SERVICES), 11),
                Host("main2", (Role.ASTERISK, Role.SERVICES), 12),
                Host("support", (Role.SUPPORT,), 21),
                Host("db", (Role.DATABASE,), 31),
            ),
        )
    match = _NODES.match(spec)
    if match is None:
        raise TopologyError(f"--topology {spec!r}: expected 'redundant' or 'nodes=N' (N from 1 to {MAX_NODES})")
    count = int(match.group(1))
    if not 1 <= count <= MAX_NODES:
        raise TopologyError(f"--topology {spec!r}: N must be from 1 to {MAX_NODES}")
    nodes = tuple(Host(f"node{i}", (Role.ASTERISK,), 100 + i) for i in range(1, count + 1))
    return Topology(Kind.NODES, (sip, Host("main", (Role.SERVICES, Role.SUPPORT, Role.DATABASE), 11), *nodes))


@dataclass(frozen=True)
class Wiring:
    """Names and addresses of one lab's network: unique per state dir, so parallel labs never collide.

    Interface names stay within Linux's 15 characters: ``tvx`` + 4 hex digits of the lab id + a suffix.
    """

    lab_id: str  # 4 hex digits
    third_octet: int

    @staticmethod
    def lab_id_of(state_dir: str) -> str:
        return hashlib.sha256(state_dir.encode()).hexdigest()[:4]

    @property
    def prefix(self) -> str:
        """Every namespace and interface of this lab starts with it: `lab down` finds leftovers by it."""
        return f"tvx{self.lab_id}"

    @property
    def subnet(self) -> str:
        return f"{SUBNET_PREFIX}.{self.third_octet}.0/24"

    @property
    def bridge_namespace(self) -> str:
        return f"{self.prefix}-switch"

    @property
    def bridge(self) -> str:
        return f"{self.prefix}br"

    @property
    def machine_leg(self) -> str:
        return machine_leg_of(self.prefix)

    @property
    def machine_address(self) -> str:
        return self.address_of_index(1)

    def namespace(self, host: Host) -> str:
        return f"{self.prefix}-{host.name}"

    def host_leg(self, host: Host) -> str:
        """The veth end inside the host's namespace."""
        return f"{self.prefix}h{host.index}"

    def bridge_leg(self, index: int) -> str:
        """The veth end on the bridge, in the switch namespace."""
        return f"{self.prefix}b{index}"

    def address_of_index(self, index: int) -> str:
        return f"{SUBNET_PREFIX}.{self.third_octet}.{index}"

    def address(self, host: Host) -> str:
        return self.address_of_index(host.index)


def machine_leg_of(prefix: str) -> str:
    """The machine's own veth end (its peer sits on the bridge): the one interface outside the lab's namespaces."""
    return f"{prefix}m0"


def pick_third_octet(lab_id: str, taken: set[int]) -> int:
    """The first free 10.213.X.0/24 from a spot derived from the lab id (labs rarely even probe the same X)."""
    start = int(lab_id, 16) % 254 + 1
    for step in range(254):
        octet = (start - 1 + step) % 254 + 1
        if octet not in taken:
            return octet
    raise TopologyError(f"every {SUBNET_PREFIX}.X.0/24 is in use on this machine")
