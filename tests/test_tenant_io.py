"""A whole tenant as YAML: export/import round trip on both backends, all-or-nothing import."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.cli import Tvox

TENANT = """\
tenant:
  name: acme
  display_name: ACME S.p.A.
  timezone: Europe/Rome
  country: IT
  language: it
services:
  - name: sales
    channels: [voice, mail, chat]
    priority: 10
    dids: ["+390299990000", "1000"]
  - name: support
    dids: ["1001"]
    first_response_minutes: 120
    business_hours: mon-fri 09:00-13:00,14:00-18:00; sat 09:00-12:00
    holidays: ["2026-12-25", "2026-12-26"]
skills:
  - name: english
  - name: italian
activity_codes:
  - {code: "1", name: lunch}
  - {code: "2", name: training, productive: true}
  - {code: "90", name: sale-closed, kind: disposition}
groups:
  - name: team-a
queues:
  - name: sales-it
    service: sales
    strategy: longest-idle
    wrapup_seconds: 8
    max_wait_seconds: 300
    skills: {italian: 5}
    relax:
      - {after_seconds: 30, min_level: 3}
      - {after_seconds: 60, min_level: 1}
    overflow:
      - {when: wait, after_seconds: 120, action: queue, target: sales-en}
      - {when: no-agents, action: callback}
  - name: sales-en
    service: sales
    strategy: ring-all
    skills: {english: 3}
agents:
  - name: mario
    display_name: Mario Rossi
    extension: "201"
    skills: {italian: 9, english: 4}
    queues: [sales-it, {queue: sales-en, penalty: 2}]
    groups: [team-a]
    capacity: {voice: 1, mail: 5, chat: 3}
  - name: anna
    extension: "202"
    sip_password: anna-secret-1
    skills: {english: 8}
    queues: [sales-en]
users:
  - {username: sara, role: supervisor, email: sara@acme.test}
  - {username: mario, role: agent, agent: mario}
"""


def test_round_trip_on_both_backends(tvox_any: Tvox, tmp_path: Path) -> None:
    source = tmp_path / "acme.yaml"
    source.write_text(TENANT)
    assert "imported" in tvox_any.ok("import", str(source))
    exported = yaml.safe_load(tvox_any.ok("export", "acme"))
    wanted = yaml.safe_load(TENANT)
    wanted["agents"][1].pop("sip_password")  # secrets are left out unless asked for
    assert exported["tenant"] == wanted["tenant"]
    assert exported["queues"][0]["relax"] == wanted["queues"][0]["relax"]
    assert exported["queues"][0]["overflow"] == wanted["queues"][0]["overflow"]
    assert exported["agents"][0]["queues"] == [{"queue": "sales-en", "penalty": 2}, "sales-it"]
    assert {a["name"]: a["skills"] for a in exported["agents"]} == {
        "mario": {"english": 4, "italian": 9},
        "anna": {"english": 8},
    }
    assert sorted(exported["services"][0]["dids"]) == ["+390299990000", "1000"]
    support = exported["services"][1]
    assert (support["business_hours"], support["holidays"]) == (
        "mon-fri 09:00-13:00,14:00-18:00; sat 09:00-12:00",
        ["2026-12-25", "2026-12-26"],
    )
    # Importing the export again changes nothing.
    again = tmp_path / "again.yaml"
    again.write_text(tvox_any.ok("export", "acme", "--with-secrets"))
    tvox_any.ok("import", str(again))
    assert tvox_any.ok("export", "acme", "--with-secrets") == again.read_text().rstrip("\n") + "\n"
    assert "anna-secret-1" in again.read_text()


def test_import_is_all_or_nothing_and_lists_every_error(tvox: Tvox, tmp_path: Path) -> None:
    good = tmp_path / "acme.yaml"
    good.write_text(TENANT)
    tvox.ok("import", str(good))
    before = tvox.ok("export", "acme", "--with-secrets")
    broken = yaml.safe_load(TENANT)
    broken["tenant"]["display_name"] = "Changed"
    broken["queues"][0]["skills"] = {"klingon": 3}
    broken["queues"][1]["strategy"] = "random-ish"
    broken["agents"][0]["extension"] = "20a"
    broken["agents"][1]["queues"] = ["nope"]
    broken["users"][0]["role"] = "boss"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(broken))
    out = tvox.fails("import", str(bad))
    # Value errors first (each with its path in the file)…
    assert "queues[1].strategy" in out and "agents[0].extension" in out and "users[0].role" in out
    fixed = yaml.safe_load(bad.read_text())
    fixed["queues"][1]["strategy"] = "ring-all"
    fixed["agents"][0]["extension"] = "203"
    fixed["users"][0]["role"] = "support"
    bad.write_text(yaml.safe_dump(fixed))
    # …then the references between them.
    out = tvox.fails("import", str(bad))
    assert "queues[0].skills.klingon: unknown skill 'klingon'" in out
    assert "agents[1].queues[0]: unknown queue 'nope'" in out
    assert tvox.ok("export", "acme", "--with-secrets") == before


def test_import_refuses_a_did_of_another_tenant(tvox: Tvox, tmp_path: Path) -> None:
    first = tmp_path / "acme.yaml"
    first.write_text(TENANT)
    tvox.ok("import", str(first))
    other = tmp_path / "globex.yaml"
    other.write_text("tenant: {name: globex}\nservices:\n  - {name: main, dids: ['1000']}\n")
    out = tvox.fails("import", str(other))
    assert "services[0].dids[0]: DID '1000' already belongs to tenant 'acme'" in out
    assert "globex" not in tvox.ok("tenant", "list")


def test_import_dry_run_and_bad_files(tvox: Tvox, tmp_path: Path) -> None:
    source = tmp_path / "acme.yaml"
    source.write_text(TENANT)
    assert "dry run" in tvox.ok("import", "--dry-run", str(source))
    assert "(none)" in tvox.ok("tenant", "list")
    source.write_text("tenant: [unclosed\n")
    assert "not valid YAML at line" in tvox.fails("import", str(source))
    source.write_text("- just a list\n")
    assert "expected a mapping" in tvox.fails("import", str(source))
    assert tvox("import", str(tmp_path / "missing.yaml")).exit_code != 0


def test_import_merges_with_what_is_stored(tvox: Tvox, tmp_path: Path) -> None:
    full = tmp_path / "acme.yaml"
    full.write_text(TENANT)
    tvox.ok("import", str(full))
    partial = tmp_path / "partial.yaml"
    partial.write_text(
        "tenant: {name: acme, timezone: Europe/Rome, country: IT, language: it, display_name: ACME S.p.A.}\n"
        "queues:\n  - {name: sales-it, service: sales, wrapup_seconds: 30}\n"
        "agents:\n  - {name: luca, extension: '205', queues: [sales-en]}\n"
    )
    tvox.ok("import", str(partial))
    exported = yaml.safe_load(tvox.ok("export", "acme"))
    queues = {q["name"]: q for q in exported["queues"]}
    assert queues["sales-it"]["wrapup_seconds"] == 30 and "skills" not in queues["sales-it"]  # replaced whole
    assert "sales-en" in queues  # kept
    assert [a["name"] for a in exported["agents"]] == ["mario", "anna", "luca"]
    assert "anna-secret-1" in tvox.ok("export", "acme", "--with-secrets")  # a kept agent keeps its password
