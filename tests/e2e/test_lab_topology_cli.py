"""`tvoxcc lab up --topology redundant` from the CLI: hosts main, main2, support, db and sip, each a namespace;
Asterisk on main and main2 behind Kamailio; `lab status --json` tells them; `lab down` leaves nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.components import component_missing, require_program
from tests.e2e.conftest import LAB_CACHE
from tvoxcc.lab import netns
from tvoxcc.lab.config import write_lab_config
from tvoxcc.lab.sipp import Sipp, caller_scenario


def _tvoxcc(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TVOXCC_CONFIG": str(config)}
    return subprocess.run(
        [sys.executable, "-m", "tvoxcc", *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_redundant_topology_up_status_call_down() -> None:
    if os.geteuid() != 0:
        component_missing("network namespaces and the lab Asterisk need root")
    for tool in ("sipp", "kamailio", "ip", "zstd"):
        require_program(tool, "scripts/system-deps.sh installs it")
    base = Path(tempfile.mkdtemp(prefix="tvoxcc-topo-cli-"))
    base.chmod(0o755)
    config = write_lab_config(base, base / "lab", LAB_CACHE)
    prefix = ""
    try:
        up = _tvoxcc(config, "lab", "up", "--topology", "redundant")
        assert up.returncode == 0, up.stderr[-3000:]
        hosts = [line.split("\t") for line in up.stdout.splitlines()]
        assert [h[0] for h in hosts] == ["sip", "main", "main2", "support", "db"]
        status = _tvoxcc(config, "lab", "status", "--json")
        assert status.returncode == 0, status.stderr
        topology = json.loads(status.stdout)["topology"]
        prefix = f"tvx{topology['lab_id']}"
        assert topology["kamailio"]["running"] and topology["namespaces_present"] == 6  # 5 hosts + the switch
        assert {n["name"]: n["running"] for n in topology["nodes"]} == {"main": True, "main2": True}
        kamailio = topology["kamailio"]
        phones = Sipp(kamailio["host"], kamailio["port"], local_ip=topology["machine_address"])
        try:
            phones.start(caller_scenario("5559999", wait_ms=300), service="5559999", calls=4).wait(60).check()
        finally:
            phones.cleanup()
        assert _tvoxcc(config, "lab", "stop-node", "main").returncode == 0
        status = json.loads(_tvoxcc(config, "lab", "status", "--json").stdout)["topology"]
        assert {n["name"]: n["running"] for n in status["nodes"]} == {"main": False, "main2": True}
        bad = _tvoxcc(config, "lab", "stop-node", "node9")
        assert bad.returncode != 0 and bad.stderr.strip().count("\n") == 0 and "node9" in bad.stderr
    finally:
        down = _tvoxcc(config, "lab", "down")
        shutil.rmtree(base, ignore_errors=True)
    assert down.returncode == 0, down.stderr
    assert prefix and netns.namespaces(prefix) == []
