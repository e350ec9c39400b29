"""IVR flows and prompts through the CLI: saved only when valid, shown readably, part of the tenant YAML."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest
import yaml

from tests.cli import Tvox
from tests.components import require_program

FLOW = Path(__file__).parent / "data" / "sales-ivr.yaml"


@pytest.fixture
def acme(tvox: Tvox) -> Tvox:
    tvox.ok("tenant", "add", "acme", "--timezone", "Europe/Rome")
    tvox.ok("service", "add", "-t", "acme", "sales", "--did", "1000")
    tvox.ok("queue", "add", "-t", "acme", "sales-it", "--service", "sales")
    for name, text in (("welcome", "Welcome to ACME."), ("main-menu", "For sales press 1."),
                       ("enter-code", "Enter your code."), ("closed", "We are closed.")):  # fmt: skip
        tvox.ok("prompts", "set", "-t", "acme", name, "--text", text)
    return tvox


def test_set_show_check_and_export(acme: Tvox) -> None:
    assert "saved (7 nodes)" in acme.ok("ivr", "set", "acme", "sales", str(FLOW))
    shown = acme.ok("ivr", "show", "acme", "sales")
    lines = shown.splitlines()
    assert lines[0] == "IVR of acme/sales, start at 'hours'"
    assert lines[1].startswith("▶ hours") and "open: welcome" in lines[1]
    assert any(line.lstrip().startswith("main") and "options: 1→sales 2→code 9→bye" in line for line in lines)
    assert "1 IVR flow(s) OK" in acme.ok("ivr", "check", "acme", "sales")
    exported = yaml.safe_load(acme.ok("export", "acme"))
    assert exported["ivrs"][0]["service"] == "sales"
    assert exported["ivrs"][0]["nodes"]["main"]["options"] == {"1": "sales", "2": "code", "9": "bye"}
    assert json.loads(acme.ok("ivr", "list", "acme", "--json")) == [{"service": "sales", "start": "hours", "nodes": 7}]


def test_invalid_flows_are_refused_naming_the_node(acme: Tvox, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(FLOW.read_text().replace("next: sales, on_fail: bye", "next: nowhere, on_fail: bye"))
    assert "ivrs[0].nodes.code.next: unknown node 'nowhere'" in acme.fails("ivr", "set", "acme", "sales", str(bad))
    bad.write_text(FLOW.read_text().replace("queue: sales-it", "queue: sales-xx"))
    assert "nodes.sales.queue: unknown queue 'sales-xx'" in acme.fails("ivr", "set", "acme", "sales", str(bad))
    bad.write_text(FLOW.read_text().replace("prompts: [welcome]", "prompts: [welcom]"))
    assert "nodes.welcome: missing prompt 'welcom'" in acme.fails("ivr", "set", "acme", "sales", str(bad))
    bad.write_text(FLOW.read_text().replace("type: menu", "type: menuu"))
    assert "nodes.main" in acme.fails("ivr", "set", "acme", "sales", str(bad))
    assert "has no IVR" in acme.fails("ivr", "show", "acme", "sales")


def test_things_an_ivr_uses_cannot_be_removed(acme: Tvox) -> None:
    acme.ok("ivr", "set", "acme", "sales", str(FLOW))
    assert "the IVR of service 'sales' (node 'sales')" in acme.fails("queue", "remove", "-t", "acme", "sales-it")
    assert "missing prompt 'welcome'" in acme.fails("prompts", "remove", "-t", "acme", "welcome")
    assert "the IVR of service 'sales'" in acme.fails("service", "remove", "-t", "acme", "sales")
    acme.ok("ivr", "remove", "acme", "sales")
    acme.ok("prompts", "remove", "-t", "acme", "welcome")


def test_prompts_render_to_8khz_mono_audio(acme: Tvox, tmp_path: Path) -> None:
    require_program("espeak-ng", "apt-get install espeak-ng")
    require_program("sox", "apt-get install sox")
    acme.ok("prompts", "set", "-t", "acme", "welcome", "-l", "it", "--text", "Benvenuti in ACME.")
    out = acme.ok("prompts", "render", "-t", "acme", "--out", str(tmp_path / "sounds"))
    assert "5 prompt(s) rendered" in out
    with wave.open(str(tmp_path / "sounds/tvoxcc/acme/it/welcome.wav")) as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        assert audio.getnframes() > 8000 * 0.5  # at least half a second of speech
    assert (tmp_path / "sounds/tvoxcc/acme/en/main-menu.wav").stat().st_size > 1000
