"""Demo step: the files of the N-node deployment for the demo tenant (no lab needed), to read or copy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tvoxcc.asterisk.inputs import RenderInput
from tvoxcc.asterisk.node import node_input
from tvoxcc.asterisk.render import write_configs as write_asterisk
from tvoxcc.kamailio.inputs import DispatchNode, KamailioInput
from tvoxcc.kamailio.render import write_configs as write_kamailio
from tvoxcc.systemd.units import HostRole, render_role

# Documentation addresses (RFC 5737): the files show the layout, nothing here dials them.
KAMAILIO_HOST = "192.0.2.10"
NODES = (DispatchNode("node1", "192.0.2.101"), DispatchNode("node2", "192.0.2.102"))


def render_deployment(inp: RenderInput, out: Path, say: Callable[[str], None]) -> None:
    """Kamailio's config, each node's Asterisk configs and every role's systemd units under ``out``."""
    kamailio = KamailioInput(KAMAILIO_HOST, 5060, NODES, inp.agents)
    write_kamailio(kamailio, out / "kamailio")
    for node in NODES:
        write_asterisk(node_input(inp, node.host, KAMAILIO_HOST, 5060, node.name), out / node.name / "asterisk")
    (out / "tvoxcc-nodes.toml").write_text(nodes_settings(), encoding="utf-8")
    for role in HostRole:
        for name, text in render_role(role).items():
            (out / "systemd" / role).mkdir(parents=True, exist_ok=True)
            (out / "systemd" / role / name).write_text(text, encoding="utf-8")
    say(
        f"demo: N-node deployment files in {out}: Kamailio (registrar for {len(inp.agents)} agent phones, "
        f"dispatcher over {len(NODES)} Asterisk nodes), each node's Asterisk configs, systemd units per role, "
        "and tvoxcc-nodes.toml: with it `voice run` holds one ARI connection per node and one ACD serves them all "
        "(README: Deployments; on one machine: tvoxcc lab up --topology nodes=2)"
    )


def nodes_settings() -> str:
    """The tvoxcc.toml sections of this deployment: Kamailio and its nodes, which `voice run` connects to."""
    lines = ["[kamailio]", f'sip_host = "{KAMAILIO_HOST}"', "sip_port = 5060"]
    for node in NODES:
        lines += ["", "[[kamailio.nodes]]", f'name = "{node.name}"', f'host = "{node.host}"']
    return "\n".join(lines) + "\n"
