"""`tvoxcc journey show|summary|merge|duplicates|reliability` on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from tests.cli import Tvox
from tests.journey_data import PHONE, UNKNOWN, Seeded, seed
from tvoxcc.store.engine import Store

T = ("--tenant", "acme")


@pytest.fixture
async def data(tvox_any: Tvox, db_url: str) -> tuple[Tvox, Seeded]:
    store = Store.from_url(db_url)
    seeded = await seed(store)
    await store.dispose()
    return tvox_any, seeded


def test_show_text_lists_calls_with_queue_and_agent_in_local_time(data: tuple[Tvox, Seeded]) -> None:
    tvox, s = data
    out = tvox.ok("journey", "show", *T, "02 1234 5678")
    lines = out.splitlines()
    assert lines[0] == f"Journey of contact {s.anna} Anna Rossi [VIP] ({PHONE}, anna@example.com)"
    assert lines[1].startswith("  2026-03-10 11:00  voice")
    assert "queue sales-it wait 60s" in lines[1] and "abandoned" in lines[1]
    assert lines[2].startswith("  2026-03-10 10:00  voice")  # 09:00 UTC in Europe/Rome
    for part in ("ivr welcome>menu (2)", "queue sales-it wait 30s", "agent mario", "answered talk 120s", "NPS 9"):
        assert part in lines[2]
    assert "recording rec-0.wav" in lines[2] and len(lines) == 3


def test_show_json_filters(data: tuple[Tvox, Seeded]) -> None:
    tvox, s = data
    tvox.ok("journey", "merge", *T, str(s.anna), str(s.dup))
    everything = json.loads(tvox.ok("journey", "show", *T, str(s.dup), "--json"))
    assert everything["contact"]["id"] == s.anna and everything["asked_id"] == s.dup
    assert [e["kind"] for e in everything["entries"]] == ["callback", "ticket", "call", "call"]
    mail = json.loads(tvox.ok("journey", "show", *T, "anna@example.com", "--channel", "mail", "--json"))
    assert [(e["kind"], e["number"], e["messages_in"], e["messages_out"]) for e in mail["entries"]] == [
        ("ticket", 1001, 1, 1)
    ]
    day = json.loads(tvox.ok("journey", "show", *T, PHONE, "--from", "2026-03-12", "--to", "2026-03-12", "--json"))
    assert [(e["kind"], e["status"]) for e in day["entries"]] == [("callback", "requested")]
    assert day["filters"]["since"] == "2026-03-11T23:00:00+00:00"
    none = tvox.ok("journey", "show", *T, PHONE, "--channel", "chat")
    assert none.splitlines()[-1] == "  (no contacts in this range)"


def test_summary_is_the_screen_pop(data: tuple[Tvox, Seeded]) -> None:
    tvox, s = data
    tvox.ok("journey", "merge", *T, PHONE, str(s.dup))
    out = tvox.ok("journey", "summary", *T, PHONE)
    assert out.splitlines()[0].startswith(f"contact {s.anna} Anna Rossi [VIP]")
    assert "  4 contacts (callback 1, mail 1, voice 2); last agent luigi" in out
    assert "  NPS 9 (average 9.0); pending callbacks 1" in out
    assert "  open tickets: T-1001 'Broken router' open" in out
    pop = json.loads(tvox.ok("journey", "summary", *T, PHONE, "--json"))
    assert pop["vip"] is True and pop["merged"] == [s.dup] and len(pop["last"]) == 3
    unknown = tvox.ok("journey", "summary", *T, UNKNOWN)
    assert unknown.splitlines()[0] == f"unknown contact {UNKNOWN}"


def test_duplicates_merge_and_reliability(data: tuple[Tvox, Seeded]) -> None:
    tvox, s = data
    groups = json.loads(tvox.ok("journey", "duplicates", *T, "--json"))
    assert groups == [
        {"key": PHONE, "contacts": [s.anna, s.dup]},
        {"key": "anna@example.com", "contacts": [s.anna, s.dup]},
    ]
    table = tvox.ok("journey", "duplicates", *T).splitlines()
    assert table[0].split() == ["KEY", "CONTACTS"] and table[1].split() == [PHONE, str(s.anna), str(s.dup)]
    before = json.loads(tvox.ok("journey", "reliability", *T, "--from", "2026-03-10", "--to", "2026-03-12", "--json"))
    assert before == {"interactions": 4, "matched": 3, "known": 2, "reliability_pct": 50.0, "matched_pct": 75.0}
    out = tvox.ok("journey", "merge", *T, str(s.anna), str(s.dup))
    assert out.strip() == (
        f"merged contact {s.dup} into contact {s.anna}: "
        "1 interactions, 1 tickets, 1 callbacks, 1 phones, 0 e-mails moved"
    )
    assert tvox.ok("journey", "duplicates", *T).strip() == "(none)"
    after = tvox.ok("journey", "reliability", *T, "--from", "2026-03-10", "--to", "2026-03-12")
    assert (
        after.strip()
        == "Address book: 75.0% of 4 inbound interactions matched to a known contact (75.0% to any contact)"
    )
    summary = tvox.ok("insight", "summary", *T, "--date", "2026-03-10")
    assert summary.splitlines()[-1] == (
        "Address book: 100.0% of 2 inbound interactions matched to a known contact (100.0% to any contact)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "--tenant", "nobody", PHONE), "unknown tenant 'nobody'"),
        (("show", *T, "nobody"), "'nobody' is not a contact id, a phone number (country IT) or an e-mail address"),
        (("show", *T, "999"), "no contact 999"),
        (("show", *T, "02 4444 4444"), "no contact and no interaction for +390244444444"),
        (("show", *T, PHONE, "--from", "2026-03-12", "--to", "2026-03-10"), "--from 2026-03-12 is after --to"),
        (("show", *T, PHONE, "--from", "March"), "--from 'March' is not a date"),
        (("summary", *T, "x@"), "'x@' is not an e-mail address"),
        (("merge", *T, PHONE, PHONE), "into itself"),
        (("merge", *T, PHONE, "999"), "no contact '999' in tenant 'acme'"),
        (("reliability", *T, "--from", "2026-03-12", "--to", "2026-03-10"), "is after --to"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_1(data: tuple[Tvox, Seeded], args: tuple[str, ...], message: str) -> None:
    tvox, _ = data
    result = tvox("journey", *args)
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert result.output.startswith("error:") and message in result.output


def test_merge_across_tenants_is_refused(data: tuple[Tvox, Seeded]) -> None:
    tvox, s = data
    out = tvox.fails("journey", "merge", *T, str(s.anna), str(s.other))
    assert f"contact {s.other} belongs to another tenant: cannot merge it across tenants" in out
    assert "bad channel" not in tvox("journey", "show", *T, PHONE, "--channel", "fax").output  # click's own check
    assert tvox("journey", "show", *T, PHONE, "--channel", "fax").exit_code == 2
