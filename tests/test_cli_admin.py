"""The admin CLI: CRUD of every noun, bad input refused with one line and exit != 0, nothing harmed."""

from __future__ import annotations

import json

import pytest

from tests.cli import Tvox


@pytest.fixture
def acme(tvox: Tvox) -> Tvox:
    tvox.ok("tenant", "add", "acme", "--display-name", "ACME", "--timezone", "Europe/Rome")
    tvox.ok("service", "add", "-t", "acme", "sales", "--channel", "voice", "--channel", "mail", "--did", "0299990000")
    tvox.ok("skill", "add", "-t", "acme", "english")
    tvox.ok("group", "add", "-t", "acme", "team-a")
    tvox.ok("activity", "add", "-t", "acme", "lunch", "--code", "1")
    tvox.ok("queue", "add", "-t", "acme", "sales-it", "--service", "sales", "--skill", "english=3")
    tvox.ok(
        "agent", "add", "-t", "acme", "mario", "--extension", "201", "--skill", "english=7",
        "--queue", "sales-it", "--group", "team-a", "--capacity", "mail=5",
    )  # fmt: skip
    return tvox


def test_help_lists_every_noun(tvox: Tvox) -> None:
    out = tvox.ok("--help")
    for noun in ("tenant", "service", "queue", "agent", "group", "skill", "activity", "user", "export", "import"):
        assert noun in out


def test_crud_round_trip(acme: Tvox) -> None:
    agents = json.loads(acme.ok("agent", "list", "-t", "acme", "--json"))
    assert agents == [
        {
            "name": "mario", "display_name": "", "extension": "201", "skills": {"english": 7},
            "queues": [{"queue": "sales-it", "penalty": 0, "weight": 1}], "groups": ["team-a"],
            "capacity": {"voice": 1, "mail": 5}, "voice_blocks_others": True,
        }
    ]  # fmt: skip
    acme.ok("agent", "set", "-t", "acme", "mario", "--skill", "english=9", "--drop-group", "team-a")
    mario = json.loads(acme.ok("agent", "show", "-t", "acme", "mario", "--json"))
    assert mario["skills"] == {"english": 9} and mario["groups"] == []
    acme.ok("queue", "set", "-t", "acme", "sales-it", "--strategy", "ring-all", "--no-record", "--wrapup-seconds", "4")
    queue = json.loads(acme.ok("queue", "show", "-t", "acme", "sales-it", "--json"))
    assert (queue["strategy"], queue["wrapup_seconds"]) == ("ring-all", 4)
    acme.ok("agent", "set", "-t", "acme", "mario", "--drop-queue", "sales-it")
    acme.ok("queue", "remove", "-t", "acme", "sales-it")
    assert "(none)" in acme.ok("queue", "list", "-t", "acme")


def test_secrets_stay_out_of_listings_but_can_be_asked_for(acme: Tvox) -> None:
    password = acme.ok("agent", "password", "-t", "acme", "mario").strip()
    assert len(password) >= 12
    for out in (acme.ok("agent", "list", "-t", "acme", "--json"), acme.ok("export", "acme"),
                acme.ok("tenant", "show", "acme", "--json")):  # fmt: skip
        assert password not in out
    assert password in acme.ok("export", "acme", "--with-secrets")
    acme.ok("agent", "password", "-t", "acme", "mario", "--new", "correct-horse-9")
    assert acme.ok("agent", "password", "-t", "acme", "mario").strip() == "correct-horse-9"
    assert "at least 8" in acme.fails("agent", "password", "-t", "acme", "mario", "--new", "short")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("service", "list", "-t", "nope"), "unknown tenant 'nope'"),
        (("tenant", "add", "acme"), "tenant 'acme' already exists"),
        (("agent", "add", "-t", "acme", "mario", "--extension", "209"), "agent 'mario' already exists"),
        (("agent", "add", "-t", "acme", "luigi", "--extension", "2x1"), "agent.extension"),
        (("agent", "add", "-t", "acme", "luigi", "--extension", "201"), "duplicate '201'"),
        (
            ("agent", "add", "-t", "acme", "luigi", "--extension", "202", "--skill", "english=11"),
            "agent.skills.english",
        ),
        (
            ("agent", "add", "-t", "acme", "luigi", "--extension", "202", "--skill", "french=3"),
            "unknown skill 'french'",
        ),
        (("agent", "add", "-t", "acme", "luigi", "--extension", "202", "--skill", "english"), "expected KEY=VALUE"),
        (("service", "add", "-t", "acme", "support", "--did", "+39 02 1234"), "bad DID"),
        (("service", "add", "-t", "acme", "support", "--did", "0299990000"), "already routes to"),
        (("queue", "add", "-t", "acme", "q2", "--service", "nope"), "unknown service 'nope'"),
        (("queue", "add", "-t", "acme", "Bad Name", "--service", "sales"), "queue.name"),
        (("skill", "remove", "-t", "acme", "english"), "used by queue 'sales-it', agent 'mario'"),
        (("queue", "remove", "-t", "acme", "sales-it"), "used by agent 'mario'"),
        (("service", "remove", "-t", "acme", "sales"), "used by queue 'sales-it'"),
        (("group", "remove", "-t", "acme", "team-a"), "used by agent 'mario'"),
        (("tenant", "remove", "acme"), "still has"),
        (("tenant", "add", "globex", "--timezone", "Mars/Olympus"), "unknown time zone"),
        (("tenant", "add", "globex", "--country", "XX"), "unknown country code"),
        (("activity", "add", "-t", "acme", "coffee", "--code", "1"), "duplicate '1'"),
        (("agent", "remove", "-t", "acme", "nobody"), "unknown agent 'nobody'"),
        (("user", "add", "bob", "--role", "supervisor"), "must belong to a tenant"),
    ],
)
def test_bad_input_is_refused_and_nothing_stored_is_harmed(acme: Tvox, args: tuple[str, ...], message: str) -> None:
    before = acme.ok("export", "acme", "--with-secrets")
    out = acme.fails(*args)
    assert message in out
    assert len(out.strip().splitlines()) <= 3  # one line per problem, no traceback
    assert acme.ok("export", "acme", "--with-secrets") == before


def test_users_and_roles(acme: Tvox) -> None:
    acme.ok("user", "add", "root-admin", "--role", "admin", "--password-stdin", input="s3cret-pass\n")
    acme.ok("user", "add", "sara", "--role", "supervisor", "-t", "acme", "--email", "sara@acme.test")
    acme.ok("user", "add", "mario", "--role", "agent", "-t", "acme", "--agent", "mario")
    rows = json.loads(acme.ok("user", "list", "--json"))
    assert [(r["username"], r["tenant"], r["role"], r["agent"]) for r in rows] == [
        ("mario", "acme", "agent", "mario"),
        ("root-admin", None, "admin", None),
        ("sara", "acme", "supervisor", None),
    ]
    assert "s3cret" not in acme.ok("user", "show", "root-admin", "--json")
    assert [r["username"] for r in json.loads(acme.ok("user", "list", "-t", "acme", "--json"))] == ["mario", "sara"]
    assert "user 'sara' already exists" in acme.fails("user", "add", "sara", "--role", "agent", "-t", "acme")
    assert "at least 8" in acme.fails("user", "add", "x", "--role", "admin", "--password-stdin", input="short\n")
    assert "used by user 'mario'" in acme.fails("agent", "remove", "-t", "acme", "mario")
    acme.ok("user", "remove", "mario")
    acme.ok("user", "set", "sara", "--role", "support")
    assert json.loads(acme.ok("user", "show", "sara", "--json"))["role"] == "support"


def test_tenant_lifecycle(tvox: Tvox) -> None:
    tvox.ok("tenant", "add", "globex", "--country", "de", "--language", "de")
    tvox.ok("tenant", "set", "globex", "--display-name", "Globex GmbH")
    rows = json.loads(tvox.ok("tenant", "list", "--json"))
    assert rows == [
        {"name": "globex", "display_name": "Globex GmbH", "timezone": "UTC", "country": "DE", "language": "de",
         "retention_days": None}
    ]  # fmt: skip
    tvox.ok("tenant", "remove", "globex")
    assert json.loads(tvox.ok("tenant", "list", "--json")) == []
