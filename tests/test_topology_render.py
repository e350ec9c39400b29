"""The multi-host pieces without a lab: topology plans, Kamailio's config (checked by Kamailio itself), node
configs for Asterisk, the per-role systemd units (checked by systemd-analyze), and their CLI refusals."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from tests.cli import make_tvox
from tests.components import require_program
from tests.test_render import AGENTS, DIDS, SETTINGS
from tvoxcc.asterisk.inputs import AgentPhone, RenderInput, RenderInputError
from tvoxcc.asterisk.node import node_input
from tvoxcc.asterisk.render import render_all
from tvoxcc.kamailio.inputs import DispatchNode, KamailioInput
from tvoxcc.kamailio.render import write_configs
from tvoxcc.lab.topology import Role, TopologyError, Wiring, parse_topology, pick_third_octet
from tvoxcc.systemd.units import HostRole, render_role

NODES = (DispatchNode("node2", "10.213.7.102"), DispatchNode("node1", "10.213.7.101"))


def test_topologies_have_the_hosts_of_their_deployment() -> None:
    redundant = parse_topology("redundant")
    assert [h.name for h in redundant.hosts] == ["sip", "main", "main2", "support", "db"]
    assert [h.name for h in redundant.with_role(Role.ASTERISK)] == ["main", "main2"]
    three = parse_topology("nodes=3")
    assert [h.name for h in three.with_role(Role.ASTERISK)] == ["node1", "node2", "node3"]
    assert three.spec == "nodes=3" and redundant.spec == "redundant"


@pytest.mark.parametrize("spec", ["nodes=0", "nodes=21", "nodes=x", "two", "nodes=", "redundant "])
def test_a_bad_topology_is_refused(spec: str) -> None:
    with pytest.raises(TopologyError, match="topology"):
        parse_topology(spec)


def test_interface_names_fit_linux_and_addresses_are_distinct() -> None:
    wiring = Wiring(Wiring.lab_id_of("/tmp/some/lab"), 7)
    topology = parse_topology("nodes=20")
    names = [wiring.bridge, wiring.machine_leg] + [wiring.host_leg(h) for h in topology.hosts]
    names += [wiring.bridge_leg(h.index) for h in topology.hosts]
    assert all(len(n) <= 15 for n in names), names
    assert len(set(names)) == len(names)
    addresses = [wiring.address(h) for h in topology.hosts] + [wiring.machine_address]
    assert len(set(addresses)) == len(addresses) and all(a.startswith("10.213.7.") for a in addresses)


def test_the_subnet_skips_the_ones_in_use() -> None:
    lab_id = "00ff"
    first = pick_third_octet(lab_id, set())
    assert pick_third_octet(lab_id, {first}) != first
    with pytest.raises(TopologyError):
        pick_third_octet(lab_id, set(range(1, 255)))


def test_kamailio_accepts_the_rendered_config(tmp_path: Path) -> None:
    kamailio = require_program("kamailio", "scripts/system-deps.sh installs it")
    inp = KamailioInput("127.0.0.1", free_port(), NODES, AGENTS, probe_seconds=3)
    write_configs(inp, tmp_path)
    check = subprocess.run([kamailio, "-c", "-f", str(tmp_path / "kamailio.cfg")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    config = (tmp_path / "kamailio.cfg").read_text()
    assert 'case "acme-alice":' in config and '"alice-pw"' in config
    assert 'modparam("dispatcher", "ds_ping_interval", 3)' in config
    assert (tmp_path / "kamailio.cfg").stat().st_mode & 0o777 == 0o640
    dispatcher = (tmp_path / "dispatcher.list").read_text().splitlines()
    assert dispatcher[-2:] == ["1 sip:10.213.7.101:5060 0 0 duid=node1", "1 sip:10.213.7.102:5060 0 0 duid=node2"]


def free_port() -> int:
    from tvoxcc.lab.config import free_port as free

    return free()


def test_kamailio_refuses_unsafe_values() -> None:
    with pytest.raises(RenderInputError, match="password"):
        KamailioInput("127.0.0.1", 5060, NODES, (AgentPhone("acme", "eve", "1003", 'a"b'),))
    with pytest.raises(RenderInputError, match="node"):
        KamailioInput("127.0.0.1", 5060, ())
    with pytest.raises(RenderInputError, match="same name"):
        KamailioInput("127.0.0.1", 5060, (NODES[0], NODES[0]))


def test_a_node_binds_its_host_and_reaches_agents_through_kamailio() -> None:
    standalone = RenderInput.from_settings(SETTINGS, AGENTS, DIDS)
    node = render_all(node_input(standalone, "10.213.7.101", "10.213.7.10", 5060))
    pjsip = node["pjsip.conf"]
    assert "bind = 10.213.7.101:5060" in pjsip
    assert "contact = sip:acme-alice@10.213.7.10:5060" in pjsip
    assert "type = auth" not in pjsip  # Kamailio checks the phones' passwords
    assert "permit = 10.213.7.10/255.255.255.255" in pjsip and "match = 10.213.7.10" in pjsip
    assert "bindaddr = 10.213.7.101" in node["http.conf"]
    # A standalone Asterisk stays as it was: phones register to it with their passwords.
    assert "type = auth" in render_all(standalone)["pjsip.conf"]
    assert "type = acl" not in render_all(standalone)["pjsip.conf"]


@pytest.mark.parametrize("role", list(HostRole))
def test_systemd_accepts_every_role_unit(role: HostRole, tmp_path: Path) -> None:
    analyze = require_program("systemd-analyze", "systemd")
    true = shutil.which("true")
    assert true is not None
    units = render_role(role, tvoxcc_bin=PurePosixPath(true))
    for name, text in units.items():
        (tmp_path / name).write_text(text)
        assert ("Restart=always" in text) != ("Type=oneshot" in text), text
    check = subprocess.run([analyze, "verify", *(str(tmp_path / n) for n in units)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_voice_comes_up_after_asterisk() -> None:
    voice = render_role(HostRole.MAIN)["tvoxcc-voice.service"]
    assert "After=network-online.target asterisk.service" in voice
    assert "ExecStart=/opt/tvoxcc/.venv/bin/tvoxcc voice run" in voice


def test_cli_refusals_are_one_line(tmp_path: Path) -> None:
    tvox = make_tvox(tmp_path)
    out = tvox.fails("asterisk", "render", "--node", "nope", "--out", str(tmp_path / "ast"))
    assert "--node 'nope'" in out and "[[kamailio.nodes]]" in out
    out = tvox.fails("kamailio", "render", "--out", str(tmp_path / "kam"))
    assert "no Asterisk node" in out
    assert tvox.fails("lab", "up", "--topology", "nodes=99").count("\n") == 1
    assert "absolute" in tvox.fails("systemd", "render", "--role", "main", "--bin", "tvoxcc")
    assert not (tmp_path / "kam").exists()


def test_cli_renders_a_node_and_kamailio_from_the_config(tmp_path: Path) -> None:
    tvox = make_tvox(tmp_path)
    with tvox.config.open("a") as config:
        config.write(
            '\n[kamailio]\nsip_host = "10.0.9.10"\nsip_port = 5070\n'
            '[[kamailio.nodes]]\nname = "main"\nhost = "10.0.9.11"\n'
            '[[kamailio.nodes]]\nname = "main2"\nhost = "10.0.9.12"\n'
        )
    tvox.ok("asterisk", "render", "--node", "main2", "--out", str(tmp_path / "ast"))
    pjsip = (tmp_path / "ast/pjsip.conf").read_text()
    assert "bind = 10.0.9.12:" in pjsip and "contact = sip:10.0.9.10:5070" in pjsip
    tvox.ok("kamailio", "render", "--out", str(tmp_path / "kam"))
    dispatcher = (tmp_path / "kam/dispatcher.list").read_text()
    assert "1 sip:10.0.9.11:5060 0 0 duid=main" in dispatcher and "duid=main2" in dispatcher
