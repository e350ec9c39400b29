"""Plain, frozen values that drive config rendering (no store, no I/O).

The store adapter (tvoxcc.asterisk.from_store) builds a ``RenderInput``; tests build one by hand.
Names end up in Asterisk config section and context names, so they are checked here, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tvoxcc.config import Settings

# Section/context names: no spaces, brackets, commas or semicolons can reach an Asterisk config file.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_EXTENSION = re.compile(r"^[0-9]{2,10}$")
_NUMBER = re.compile(r"^\+?[0-9]{2,20}$")
_DIAL_PREFIX = re.compile(r"^[0-9*#]{1,4}$")
DEFAULT_DIAL_PREFIX = "9"
_SECRET_FORBIDDEN = re.compile(r"[\s;\[\]\"]")


class RenderInputError(ValueError):
    """A value that cannot be written safely into an Asterisk config file."""


def _check(pattern: re.Pattern[str], value: str, what: str) -> None:
    if not pattern.fullmatch(value):
        raise RenderInputError(f"{what} {value!r} is not allowed (expected {pattern.pattern})")


def _check_secret(value: str, what: str) -> None:
    if not value or _SECRET_FORBIDDEN.search(value):
        raise RenderInputError(f"{what} must be non-empty without spaces, quotes, ';' or brackets")


@dataclass(frozen=True)
class AgentPhone:
    """One agent's SIP phone; the endpoint name is unique across tenants."""

    tenant: str
    name: str
    extension: str
    password: str = field(repr=False)
    display_name: str = ""

    def __post_init__(self) -> None:
        _check(_NAME, self.tenant, "tenant")
        _check(_NAME, self.name, "agent name")
        _check(_EXTENSION, self.extension, "extension")
        _check_secret(self.password, f"password of {self.tenant}/{self.name}")
        if any(c in self.display_name for c in '"\n;'):
            raise RenderInputError(f"display name of {self.tenant}/{self.name} has a quote, ';' or newline")

    @property
    def endpoint(self) -> str:
        return f"{self.tenant}-{self.name}"


@dataclass(frozen=True)
class Did:
    """An inbound number routed to a tenant's service (through the Stasis app)."""

    number: str
    tenant: str
    service: str

    def __post_init__(self) -> None:
        _check(_NUMBER, self.number, "DID")
        _check(_NAME, self.tenant, "tenant")
        _check(_NAME, self.service, "service")


_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$")


@dataclass(frozen=True)
class Trunk:
    """A tenant's PJSIP trunk to the PSTN: calls out only (callbacks), so no identify-by-IP section,
    which would take every phone on the same host (all of 127.0.0.1 in the lab) for the trunk."""

    tenant: str
    name: str
    host: str
    port: int = 5060

    def __post_init__(self) -> None:
        _check(_NAME, self.tenant, "tenant")
        _check(_NAME, self.name, "trunk name")
        _check(_HOST, self.host, "trunk host")
        if not 0 < self.port < 65536:
            raise RenderInputError(f"trunk port {self.port} is not a port")


_FILE = re.compile(r"^/[A-Za-z0-9._/-]{1,250}$")


@dataclass(frozen=True)
class TlsTransport:
    """PJSIP's TLS transport: the agents' phones register and talk over it."""

    port: int
    cert_file: str
    key_file: str

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise RenderInputError(f"TLS port {self.port} is not a port")
        for what in ("cert_file", "key_file"):
            _check(_FILE, getattr(self, what), what)


@dataclass(frozen=True)
class RenderInput:
    """Everything the templates need; sorted on creation so output is deterministic."""

    ari_bind: str
    ari_port: int
    ari_user: str
    ari_password: str = field(repr=False)
    ari_app: str
    ami_bind: str
    ami_port: int
    ami_user: str
    ami_secret: str = field(repr=False)
    sip_bind: str
    sip_port: int
    rtp_start: int
    rtp_end: int
    agi_host: str
    agi_port: int
    agents: tuple[AgentPhone, ...] = ()
    dids: tuple[Did, ...] = ()
    # An unauthenticated endpoint matched by From user; its calls only reach tvoxcc-inbound.
    # None renders no such endpoint (production trunks are configured by the admin).
    caller_endpoint: str | None = "caller"
    trunks: tuple[Trunk, ...] = ()
    # One of several Asterisk nodes behind Kamailio (host of its SIP address; set by asterisk/node.py): agents'
    # phones register to Kamailio, so calls to them go through it; calls reach this node only from it.
    # None: a standalone Asterisk.
    sip_proxy_host: str | None = None
    sip_proxy_port: int = 5060
    # A node's name, the prefix of its channels' ids (asterisk.conf systemname): one voice service driving N nodes
    # must never see two channels with one id. None: Asterisk's plain ids.
    system_name: str | None = None
    sip_tls: TlsTransport | None = None
    srtp: bool = False  # the agents' media over SRTP (SDES); needs sip_tls
    # (tenant, prefix) of tenants whose agents dial out with another prefix than DEFAULT_DIAL_PREFIX
    dial_prefixes: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for tenant, prefix in self.dial_prefixes:
            _check(_NAME, tenant, "tenant")
            _check(_DIAL_PREFIX, prefix, f"dial-out prefix of {tenant}")
        object.__setattr__(self, "dial_prefixes", tuple(sorted(self.dial_prefixes)))
        if self.srtp and self.sip_tls is None:
            raise RenderInputError("srtp needs sip_tls (its keys travel in the SIP messages)")
        if self.sip_proxy_host is not None:
            _check(_HOST, self.sip_proxy_host, "SIP proxy host")
        for what in ("ari_user", "ari_app", "ami_user"):
            _check(_NAME, getattr(self, what), what)
        if self.caller_endpoint is not None:
            _check(_NAME, self.caller_endpoint, "caller endpoint")
        if self.system_name is not None:
            _check(_NAME, self.system_name, "node name")
        _check_secret(self.ari_password, "ARI password")
        _check_secret(self.ami_secret, "AMI secret")
        if self.rtp_start >= self.rtp_end:
            raise RenderInputError("rtp_start must be below rtp_end")
        object.__setattr__(self, "agents", tuple(sorted(self.agents, key=lambda a: (a.tenant, a.name))))
        object.__setattr__(self, "dids", tuple(sorted(self.dids, key=lambda d: d.number)))
        object.__setattr__(self, "trunks", tuple(sorted(self.trunks, key=lambda t: t.name)))
        self._check_unique()

    def _check_unique(self) -> None:
        endpoints = [a.endpoint for a in self.agents] + [t.name for t in self.trunks]
        if self.caller_endpoint is not None:
            endpoints.append(self.caller_endpoint)
        if len(set(endpoints)) != len(endpoints):
            raise RenderInputError("two SIP endpoints would have the same name")
        per_tenant = [(a.tenant, a.extension) for a in self.agents]
        if len(set(per_tenant)) != len(per_tenant):
            raise RenderInputError("two agents of one tenant share an extension")
        numbers = [d.number for d in self.dids]
        if len(set(numbers)) != len(numbers):
            raise RenderInputError("a DID is listed twice")

    @property
    def tenants(self) -> tuple[str, ...]:
        return tuple(sorted({a.tenant for a in self.agents}))

    def dial_prefix(self, tenant: str) -> str:
        """What the tenant's agents dial before a number to call out (tvoxcc.voice.agent_calls)."""
        return dict(self.dial_prefixes).get(tenant, DEFAULT_DIAL_PREFIX)

    def agents_of(self, tenant: str) -> tuple[AgentPhone, ...]:
        return tuple(a for a in self.agents if a.tenant == tenant)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        agents: tuple[AgentPhone, ...] = (),
        dids: tuple[Did, ...] = (),
        caller_endpoint: str | None = "caller",
        trunks: tuple[Trunk, ...] = (),
        dial_prefixes: tuple[tuple[str, str], ...] = (),
    ) -> RenderInput:
        ast = settings.asterisk
        url = urlsplit(ast.ari_url)
        return cls(
            ari_bind=url.hostname or "127.0.0.1",
            ari_port=url.port or (443 if url.scheme == "https" else 80),
            ari_user=ast.ari_user,
            ari_password=ast.ari_password.get_secret_value(),
            ari_app=ast.ari_app,
            ami_bind=ast.ami_host,
            ami_port=ast.ami_port,
            ami_user=ast.ami_user,
            ami_secret=ast.ami_secret.get_secret_value(),
            sip_bind=ast.sip_host,
            sip_port=ast.sip_port,
            rtp_start=ast.rtp_start,
            rtp_end=ast.rtp_end,
            agi_host=settings.agi.host,
            agi_port=settings.agi.port,
            agents=agents,
            dids=dids,
            caller_endpoint=caller_endpoint,
            trunks=trunks,
            dial_prefixes=dial_prefixes,
            sip_tls=_tls_of(settings),
            srtp=ast.srtp,
        )


def _tls_of(settings: Settings) -> TlsTransport | None:
    ast = settings.asterisk
    if not ast.sip_tls or ast.tls_cert_file is None or ast.tls_key_file is None:
        return None
    return TlsTransport(ast.sip_tls_port, str(ast.tls_cert_file), str(ast.tls_key_file))
