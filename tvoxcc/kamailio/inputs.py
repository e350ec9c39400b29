"""Plain values that drive Kamailio's config (no store, no I/O); checked once so nothing unsafe reaches it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tvoxcc.asterisk.inputs import AgentPhone, RenderInput, RenderInputError
from tvoxcc.config import Settings

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$")
# Passwords go into a double-quoted Kamailio string: no quote, backslash or newline.
_PASSWORD_FORBIDDEN = re.compile(r'["\\\s]')


@dataclass(frozen=True)
class DispatchNode:
    """One Asterisk node in the dispatcher set."""

    name: str
    host: str
    port: int = 5060

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise RenderInputError(f"node name {self.name!r} is not allowed")
        if not _HOST.fullmatch(self.host):
            raise RenderInputError(f"node host {self.host!r} of {self.name} is not a host")

    @property
    def uri(self) -> str:
        return f"sip:{self.host}:{self.port}"


@dataclass(frozen=True)
class KamailioInput:
    listen_host: str
    listen_port: int
    nodes: tuple[DispatchNode, ...]
    agents: tuple[AgentPhone, ...] = field(default=(), repr=False)
    probe_seconds: int = 2

    def __post_init__(self) -> None:
        if not _HOST.fullmatch(self.listen_host):
            raise RenderInputError(f"Kamailio host {self.listen_host!r} is not a host")
        if not self.nodes:
            raise RenderInputError("no Asterisk node to dispatch to: add [[kamailio.nodes]] to tvoxcc.toml")
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise RenderInputError("two Asterisk nodes have the same name")
        for agent in self.agents:
            if _PASSWORD_FORBIDDEN.search(agent.password):
                raise RenderInputError(f"password of {agent.tenant}/{agent.name} has a quote, backslash or space")
        object.__setattr__(self, "nodes", tuple(sorted(self.nodes, key=lambda n: n.name)))

    @classmethod
    def from_settings(cls, settings: Settings, inp: RenderInput) -> KamailioInput:
        """Kamailio's address and nodes from [kamailio], the agents' phones from the Asterisk render input."""
        kam = settings.kamailio
        nodes = tuple(DispatchNode(n.name, n.host, settings.asterisk.sip_port) for n in kam.nodes)
        return cls(kam.sip_host, kam.sip_port, nodes, inp.agents, kam.probe_seconds)
