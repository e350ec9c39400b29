"""The hierarchy agents -> groups -> queues -> campaigns and supervisors scoped to groups, on the CLI and in the
tenant YAML, on both backends."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import yaml
from sqlalchemy import select

from tests.cli import Tvox
from tvoxcc.admin.hierarchy import working_queues
from tvoxcc.config import load_settings
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


def _acme(tvox: Tvox) -> Tvox:
    tvox.ok("tenant", "add", "acme")
    tvox.ok("service", "add", "-t", "acme", "sales")
    tvox.ok("queue", "add", "-t", "acme", "sales-it", "--service", "sales")
    tvox.ok("queue", "add", "-t", "acme", "outbound", "--service", "sales")
    tvox.ok("group", "add", "-t", "acme", "team-a")
    tvox.ok("group", "add", "-t", "acme", "team-b")
    tvox.ok("agent", "add", "-t", "acme", "mario", "--extension", "201", "--group", "team-a")
    tvox.ok("campaign", "add", "-t", "acme", "spring", "--queue", "outbound")
    return tvox


def test_a_group_links_queues_and_campaigns_and_a_supervisor_is_scoped(tvox_any: Tvox, tmp_path: Path) -> None:
    tvox = _acme(tvox_any)
    tvox.ok(
        "group", "set", "-t", "acme", "team-a", "--queue", "sales-it", "--queue", "outbound", "--campaign", "spring"
    )
    shown = json.loads(tvox.ok("group", "show", "-t", "acme", "team-a", "--json"))
    assert (shown["queues"], shown["campaigns"]) == (["outbound", "sales-it"], ["spring"])
    # The group's campaign link is the campaign's own (`campaign set --group` writes the same row).
    assert json.loads(tvox.ok("campaign", "show", "-t", "acme", "spring", "--json"))["groups"] == ["team-a"]
    tvox.ok("group", "set", "-t", "acme", "team-a", "--drop-queue", "outbound")
    assert json.loads(tvox.ok("group", "show", "-t", "acme", "team-a", "--json"))["queues"] == ["sales-it"]

    tvox.ok("user", "add", "sara", "--role", "supervisor", "-t", "acme", "--groups", "team-a,team-b")
    assert json.loads(tvox.ok("user", "show", "sara", "--json"))["groups"] == ["team-a", "team-b"]
    tvox.ok("user", "set", "sara", "--groups", "team-b")
    assert json.loads(tvox.ok("user", "show", "sara", "--json"))["groups"] == ["team-b"]
    assert "team-b" in tvox.ok("user", "list", "-t", "acme")
    tvox.ok("user", "add", "lia", "--role", "supervisor", "-t", "acme", "--groups", "team-a")
    tvox.ok("user", "set", "lia", "--role", "agent")  # no longer a supervisor: no longer scoped
    assert json.loads(tvox.ok("user", "show", "lia", "--json"))["groups"] == []
    tvox.ok("user", "remove", "lia")

    exported = yaml.safe_load(tvox.ok("export", "acme"))
    assert exported["groups"][0] == {"name": "team-a", "queues": ["sales-it"], "campaigns": ["spring"]}
    assert exported["users"] == [{"username": "sara", "role": "supervisor", "groups": ["team-b"]}]
    # The YAML changes them too, and an export imported again changes nothing.
    exported["groups"][1]["queues"] = ["outbound"]
    exported["users"][0]["groups"] = ["team-a"]
    source = tmp_path / "acme.yaml"
    source.write_text(yaml.safe_dump(exported))
    tvox.ok("import", str(source))
    again = yaml.safe_load(tvox.ok("export", "acme"))
    assert again["groups"][1] == {"name": "team-b", "queues": ["outbound"]}
    assert again["users"][0]["groups"] == ["team-a"]
    assert json.loads(tvox.ok("campaign", "show", "-t", "acme", "spring", "--json"))["groups"] == ["team-a"]


def test_bad_links_are_refused_with_one_line_and_nothing_changes(tvox_any: Tvox, tmp_path: Path) -> None:
    tvox = _acme(tvox_any)
    tvox.ok("user", "add", "sara", "--role", "supervisor", "-t", "acme", "--groups", "team-a")
    tvox.ok("user", "add", "ugo", "--role", "agent", "-t", "acme")
    before = tvox.ok("export", "acme")
    assert "unknown queue 'nope'" in tvox.fails("group", "set", "-t", "acme", "team-a", "--queue", "nope")
    assert "unknown campaign 'autumn'" in tvox.fails("group", "set", "-t", "acme", "team-a", "--campaign", "autumn")
    assert "unknown group 'team-z'" in tvox.fails("user", "set", "sara", "--groups", "team-z")
    assert "only a supervisor" in tvox.fails("user", "set", "ugo", "--groups", "team-a")
    # A group a supervisor is scoped to, and a queue a group works, are not removed from under them.
    assert "user 'sara'" in tvox.fails("group", "remove", "-t", "acme", "team-a")
    tvox.ok("group", "set", "-t", "acme", "team-b", "--queue", "sales-it")
    assert "group 'team-b'" in tvox.fails("queue", "remove", "-t", "acme", "sales-it")
    doc = yaml.safe_load(before)
    doc["users"][0]["groups"] = ["team-x"]
    doc["groups"][0]["campaigns"] = ["autumn"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    out = tvox.fails("import", str(bad))
    assert "users[0].groups[0]: unknown group 'team-x'" in out
    after = yaml.safe_load(tvox.ok("export", "acme"))
    assert after["users"][0]["groups"] == ["team-a"]


def test_a_campaign_given_by_groups_is_worked_through_the_groups_queues(tvox_any: Tvox, tmp_path: Path) -> None:
    tvox = _acme(tvox_any)
    tvox.ok("queue", "add", "-t", "acme", "winback", "--service", "sales")
    tvox.ok("campaign", "add", "-t", "acme", "autumn", "--group", "team-a")
    autumn = tmp_path / "autumn.csv"
    autumn.write_text("number\n+390255501\n")
    tvox.ok("campaign", "import-list", "-t", "acme", "autumn", str(autumn))
    assert "its groups work no queue" in tvox.fails("campaign", "start", "-t", "acme", "autumn")
    tvox.ok("group", "set", "-t", "acme", "team-a", "--queue", "sales-it", "--queue", "winback")
    tvox.ok("campaign", "start", "-t", "acme", "autumn")  # now team-a's queues work it
    tvox.ok("group", "set", "-t", "acme", "team-b", "--queue", "outbound", "--campaign", "spring")

    async def queues_of() -> dict[str, list[str]]:
        store = Store.from_url(load_settings(tvox.config).database.url.get_secret_value())
        try:
            async with store.session() as session:
                ids = dict((await session.execute(select(m.Campaign.name, m.Campaign.id))).all())
                return {name: await working_queues(session, ids[name]) for name in ids}
        finally:
            await store.dispose()

    # autumn: team-a's queues; spring: its own queue and team-b's, the same one, once.
    assert asyncio.run(queues_of()) == {"autumn": ["sales-it", "winback"], "spring": ["outbound"]}


def test_campaigns_round_trip_through_the_tenant_yaml(tvox_any: Tvox, tmp_path: Path) -> None:
    tvox = _acme(tvox_any)
    tvox.ok(
        "campaign", "set", "-t", "acme", "spring", "--mode", "predictive", "--rule", "24-hours",
        "--window", "mon-sat 10:00-19:00", "--retry", "busy=900", "--retry", "call-later=7200",
        "--max-attempts", "5", "--caller-id", "+390299990000", "--group", "team-a",
    )  # fmt: skip
    exported = yaml.safe_load(tvox.ok("export", "acme"))
    assert exported["campaigns"] == [
        {
            "name": "spring", "mode": "predictive", "rule": "24-hours", "caller_id": "+390299990000",
            "window": "mon-sat 10:00-19:00", "max_attempts": 5, "retry": {"busy": 900.0, "call-later": 7200.0},
            "queues": ["outbound"],
        }
    ]  # fmt: skip
    assert exported["groups"][0]["campaigns"] == ["spring"]
    # A new campaign from the file, worked by a group, and a change to the stored one; none is removed.
    exported["campaigns"][0]["retry"] = {"no-answer": None}
    exported["campaigns"].append({"name": "autumn", "queues": ["sales-it"], "machine": "hang-up"})
    exported["groups"][1]["campaigns"] = ["autumn"]
    source = tmp_path / "acme.yaml"
    source.write_text(yaml.safe_dump(exported))
    tvox.ok("import", str(source))
    autumn = json.loads(tvox.ok("campaign", "show", "-t", "acme", "autumn", "--json"))
    assert (autumn["status"], autumn["queues"], autumn["groups"], autumn["machine_action"]) == (
        "draft", ["sales-it"], ["team-b"], "hang-up"
    )  # fmt: skip
    spring = json.loads(tvox.ok("campaign", "show", "-t", "acme", "spring", "--json"))
    assert (spring["retry"]["no-answer"], spring["retry"]["busy"], spring["dispositions"]) == (None, 600.0, {})
    again = tmp_path / "again.yaml"
    again.write_text(tvox.ok("export", "acme"))
    tvox.ok("import", str(again))
    assert tvox.ok("export", "acme") == again.read_text()
    del exported["campaigns"]  # a file without campaigns keeps them
    source.write_text(yaml.safe_dump(exported))
    tvox.ok("import", str(source))
    assert [c["name"] for c in json.loads(tvox.ok("campaign", "list", "-t", "acme", "--json"))] == ["autumn", "spring"]
    exported["campaigns"] = [{"name": "winter", "queues": ["nope"], "window": "mon-fri 20:00-09:00"}]
    source.write_text(yaml.safe_dump(exported))
    out = tvox.fails("import", str(source))
    assert "campaigns[0].window" in out
    exported["campaigns"] = [{"name": "winter", "queues": ["nope"]}]
    source.write_text(yaml.safe_dump(exported))
    assert "unknown queue 'nope'" in tvox.fails("import", str(source))  # checked on the merged tenant


WINBACK = Path(__file__).parent / "data" / "scripts" / "winback.yaml"


def test_call_scripts_go_out_and_in_with_the_tenant_yaml(tvox_any: Tvox, tmp_path: Path) -> None:
    """A script added with `script add` is exported as written, with its campaign or queue; the YAML adds and
    changes scripts; a bad one is refused with its path and nothing is stored; import never removes one."""
    tvox = _acme(tvox_any)
    tvox.ok("script", "add", "-t", "acme", str(WINBACK), "--campaign", "spring")
    exported = yaml.safe_load(tvox.ok("export", "acme"))
    (winback,) = exported["scripts"]
    assert winback == {**yaml.safe_load(WINBACK.read_text()), "campaign": "spring"}
    second = {
        "name": "intake", "queue": "sales-it", "start": "ask",
        "steps": {"ask": {"fields": [{"name": "topic", "label": "Topic", "type": "text"}]}},
    }  # fmt: skip
    winback["title"] = "Win-back, spring"
    exported["scripts"].append(second)
    source = tmp_path / "acme.yaml"
    source.write_text(yaml.safe_dump(exported, sort_keys=False))
    tvox.ok("import", str(source))
    listed = json.loads(tvox.ok("script", "list", "-t", "acme", "--json"))
    assert sorted(s["name"] for s in listed) == ["intake", "winback"]
    assert json.loads(tvox.ok("script", "show", "-t", "acme", "intake", "--json"))["spec"]["start"] == "ask"
    again = yaml.safe_load(tvox.ok("export", "acme"))
    assert again["scripts"] == [second, winback]  # by name; the text as imported
    source.write_text(yaml.safe_dump(again, sort_keys=False))
    tvox.ok("import", str(source))
    assert yaml.safe_load(tvox.ok("export", "acme")) == again  # imported again: nothing changes

    bad = yaml.safe_load(source.read_text())
    bad["scripts"][0]["steps"]["ask"]["next"] = "nowhere"
    bad["scripts"][1]["queue"] = "outbound"  # a campaign and a queue: refused

    source.write_text(yaml.safe_dump(bad, sort_keys=False))
    error = tvox.fails("import", str(source))
    assert "steps.ask.next: unknown step 'nowhere'" in error
    assert "a script is for one campaign (campaign:) or one queue (queue:)" in error
    bad["scripts"][0]["steps"]["ask"].pop("next")
    bad["scripts"][1].pop("campaign")
    bad["scripts"][1]["queue"] = "sales-it"  # a second script for one queue
    source.write_text(yaml.safe_dump(bad, sort_keys=False))
    assert "queue 'sales-it' has script 'intake' already" in tvox.fails("import", str(source))
    assert yaml.safe_load(tvox.ok("export", "acme")) == again  # nothing stored from either

    del again["scripts"]  # a document without scripts keeps them: they go with `script remove` only
    source.write_text(yaml.safe_dump(again, sort_keys=False))
    tvox.ok("import", str(source))
    assert len(json.loads(tvox.ok("script", "list", "-t", "acme", "--json"))) == 2
    stored = tmp_path / "stored.yaml"  # a script stored by the CLI that the YAML does not name
    stored.write_text(WINBACK.read_text().replace("name: winback", "name: stored"))
    tvox.ok("script", "add", "-t", "acme", str(stored), "--queue", "outbound")
    again["scripts"] = [{**second, "name": "other", "queue": "outbound"}]
    source.write_text(yaml.safe_dump(again, sort_keys=False))
    assert "queue 'outbound' has script 'stored' already" in tvox.fails("import", str(source))
