"""The lab Asterisk itself: it starts, answers ARI, stays on loopback, registers agents, never leaves a caller
in silence, and `lab down`/`lab up` stop and start exactly its own process."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.e2e.conftest import PASSWORD, LabHandle
from tvoxcc.asterisk.ami_command import AmiCommandClient
from tvoxcc.cli.main import cli
from tvoxcc.lab import process
from tvoxcc.lab.mirror import debian_mirror
from tvoxcc.lab.sipp import Sipp, SippAgent, caller_scenario

asterisk = pytest.mark.asterisk


def _wait_for(predicate: object, timeout: float = 5.0) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def _asterisk_sockets(pid: int) -> list[str]:
    out = subprocess.run(["ss", "-lntupH"], capture_output=True, text=True, check=True).stdout
    return [line.split()[4] for line in out.splitlines() if f"pid={pid}," in line]


@asterisk
def test_ari_answers_with_asterisk_22(lab: LabHandle) -> None:
    info = lab.ari("asterisk/info")
    assert info["system"]["version"].startswith("22.")


@asterisk
def test_nothing_listens_on_every_address(lab: LabHandle) -> None:
    pid = lab.lab.running_pid()
    assert pid is not None
    ast = lab.settings.asterisk
    assert process.wildcard_listeners(pid, frozenset({ast.sip_port})) == []
    local = _asterisk_sockets(pid)
    for port in (ast.sip_port, ast.ami_port, int(ast.ari_url.rsplit(":", 1)[1])):
        assert f"127.0.0.1:{port}" in local


@asterisk
def test_agent_registers_with_digest_auth(lab: LabHandle, sipp: Sipp) -> None:
    alice = SippAgent(sipp, "acme-alice", PASSWORD)
    assert lab.endpoint("acme-alice")["state"] == "offline"
    alice.register().check()
    assert _wait_for(lambda: lab.endpoint("acme-alice")["state"] == "online")
    # The same endpoint refuses a wrong password: the second REGISTER gets another 401, not a 200.
    intruder = SippAgent(sipp, "acme-bob", "wrong-password")
    assert intruder.register().returncode != 0
    assert lab.endpoint("acme-bob")["state"] == "offline"
    alice.unregister().check()
    assert _wait_for(lambda: lab.endpoint("acme-alice")["state"] == "offline")


@asterisk
def test_registered_agent_answers_a_call(lab: LabHandle, sipp: Sipp) -> None:
    carol = SippAgent(sipp, "beta-carol", PASSWORD)
    carol.register().check()
    phone = carol.answer()
    # Nothing listens on the AGI port: the ping route fails, the dialplan hangs up, the phone sees a BYE.
    lab.ari("channels?endpoint=PJSIP/beta-carol&context=tvoxcc-selftest&extension=*99&priority=1", method="POST")
    phone.wait(20).check()
    carol.unregister().check()


@asterisk
def test_did_without_stasis_app_gets_the_fallback_prompt(lab: LabHandle, sipp: Sipp) -> None:
    mark = lab.log_mark()
    call = sipp.start(caller_scenario("5551000", "12", hangup="them", wait_ms=300), service="5551000")
    pid = lab.lab.running_pid()
    assert pid is not None
    # While the prompt plays, the call's RTP socket is on loopback too.
    assert _wait_for(lambda: len(lab.channels()) == 1)
    ast = lab.settings.asterisk
    rtp = [a for a in _asterisk_sockets(pid) if ast.rtp_start <= int(a.rsplit(":", 1)[1]) <= ast.rtp_end]
    assert rtp and all(a.startswith("127.0.0.1:") for a in rtp), rtp
    call.wait(30).check()  # answered, then Asterisk hung up: neither silence nor an error
    log = lab.log_since(mark)
    assert "Stasis app tvoxcc unavailable" in log
    assert "Playing 'all-circuits-busy-now.gsm'" in log
    assert "DTMF end '1' received" in log and "DTMF end '2' received" in log
    assert _wait_for(lambda: lab.channels() == [])


@asterisk
def test_unknown_number_is_told_so(lab: LabHandle, sipp: Sipp) -> None:
    mark = lab.log_mark()
    sipp.call("5559999", hangup="us", wait_ms=1500).check()  # the prompt is long: hang up while it plays
    assert "Playing 'ss-noservice.gsm'" in lab.log_since(mark)


# An admin's own context beside tvoxcc's: 4242 answers, says so in the log, hangs up; 4243 waits for that.
ADMIN_DIALPLAN = """
[admin-own]
exten => 4242,1,Answer()
 same => n,Verbose(1,admin-own 4242 reached)
 same => n,Hangup()
exten => 4243,1,Wait(10)
 same => n,Hangup()
"""


@asterisk
def test_the_admins_own_dialplan_survives_a_render_and_is_dialable(lab: LabHandle) -> None:
    custom = lab.lab.config_dir / "extensions_custom.conf"
    original = custom.read_text()  # `lab up` created it: tvoxcc's one-line comment
    assert original.startswith("; Yours: tvoxcc never overwrites this file")
    custom.write_text(original + ADMIN_DIALPLAN)
    try:
        lab.reload()  # renders every file again, extensions.conf included, then reloads the dialplan
        assert custom.read_text() == original + ADMIN_DIALPLAN
        (shown,) = AmiCommandClient.from_settings(lab.settings.asterisk).run("dialplan show 4242@admin-own")
        assert "Verbose(1,admin-own 4242 reached)" in shown, shown
        mark = lab.log_mark()
        # A Local channel dials 4242@admin-own; its other side runs 4243 once 4242 answers.
        lab.ari("channels?endpoint=Local/4242@admin-own&context=admin-own&extension=4243&priority=1", method="POST")
        assert _wait_for(lambda: "admin-own 4242 reached" in lab.log_since(mark), timeout=15), lab.log_since(mark)[
            -2000:
        ]
        assert _wait_for(lambda: lab.channels() == [])
    finally:
        custom.write_text(original)
        lab.reload()


@asterisk
def test_lab_down_stops_its_own_process_and_up_starts_again(lab: LabHandle) -> None:
    runner = CliRunner()
    env = {"TVOXCC_CONFIG": str(lab.config_path)}
    state = ["lab", "--state-dir", str(lab.state_dir)]
    before = process.read_pid(lab.lab.pid_file)
    assert before is not None and process.is_ours(before, lab.lab.root)

    down = runner.invoke(cli, [*state, "down"], env=env)
    assert down.exit_code == 0, down.output
    assert f"stopped (pid {before})" in down.output
    assert not process.alive(before)
    assert not lab.lab.pid_file.exists()
    stopped = runner.invoke(cli, [*state, "status", "--json"], env=env)
    assert stopped.exit_code == 3 and '"running": false' in stopped.output

    up = runner.invoke(cli, [*state, "up"], env=env)
    assert up.exit_code == 0, up.output
    assert f"reusing {lab.lab.root}" in up.output and "extracting" not in up.output  # no second extraction
    after = process.read_pid(lab.lab.pid_file)
    assert after is not None and after != before and process.is_ours(after, lab.lab.root)
    assert lab.ari("asterisk/info")["system"]["version"].startswith("22.")
    # `lab up` rendered from the (empty) store: put the test agents and DIDs back for later tests.
    lab.reload()
    assert lab.endpoint("acme-alice")["state"] == "offline"


def test_lab_refuses_to_run_without_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    result = CliRunner().invoke(cli, ["lab", "--state-dir", str(tmp_path), "up"], env={"TVOXCC_CONFIG": "/nonexistent"})
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == ["error: the lab needs root (debootstrap and chroot): run it as root"]


def test_mirror_comes_from_the_machines_apt_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d/debian.sources").write_text(
        "Types: deb\n# a comment\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\nComponents: main\n"
    )
    assert debian_mirror(tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list.d/debian.sources").unlink()
    (tmp_path / "sources.list").write_text("deb [arch=amd64] http://other.example/debian bookworm main\n")
    assert debian_mirror(tmp_path) == "http://other.example/debian"
    (tmp_path / "sources.list").unlink()
    assert debian_mirror(tmp_path) == "http://deb.debian.org/debian"
