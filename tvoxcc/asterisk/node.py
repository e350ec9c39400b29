"""One Asterisk node behind Kamailio: the standalone render input moved to the node's address."""

from __future__ import annotations

from dataclasses import replace

from tvoxcc.asterisk.inputs import RenderInput


def node_input(inp: RenderInput, host: str, proxy_host: str, proxy_port: int, name: str | None = None) -> RenderInput:
    """SIP, RTP, ARI and AMI bound to ``host``; agents reached and trunk calls taken through Kamailio; channel ids
    prefixed with the node's ``name``."""
    return replace(
        inp,
        sip_bind=host,
        ari_bind=host,
        ami_bind=host,
        sip_proxy_host=proxy_host,
        sip_proxy_port=proxy_port,
        system_name=name,
    )
