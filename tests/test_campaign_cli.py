"""`tvoxcc campaign` on SQLite and PostgreSQL: settings, lists all-or-nothing, do-not-call, status, the ledger."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.cli import Tvox
from tvoxcc.admin.repository import tenant_id_of
from tvoxcc.campaigns.ledger import LedgerEntry
from tvoxcc.config import load_settings
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


def desk(tvox: Tvox) -> Tvox:
    tvox.ok("tenant", "add", "acme")
    tvox.ok("service", "add", "-t", "acme", "sales", "--channel", "voice")
    tvox.ok("queue", "add", "-t", "acme", "outbound", "--service", "sales")
    tvox.ok("group", "add", "-t", "acme", "team1")
    return tvox


def test_a_campaign_is_added_changed_shown_and_listed(tvox_any: Tvox) -> None:
    tvox = desk(tvox_any)
    tvox.ok(
        "campaign",
        "add",
        "-t",
        "acme",
        "spring",
        "--mode",
        "predictive",
        "--window",
        "mon-sat 09:00-21:00",
        "--retry",
        "busy=300",
        "--retry",
        "call-later=3600",
        "--retry",
        "machine=never",
        "--queue",
        "outbound",
    )
    tvox.ok("campaign", "set", "-t", "acme", "spring", "--rule", "24-hours", "--group", "team1", "--max-attempts", "5")
    shown = json.loads(tvox.ok("campaign", "show", "-t", "acme", "spring", "--json"))
    assert shown["mode"] == "predictive" and shown["rule"] == "24-hours"
    assert shown["window"] == "mon-sat 09:00-21:00"
    assert shown["retry"] == {"busy": 300.0, "no-answer": 3600.0, "machine": None, "failed": 1800.0}
    assert shown["dispositions"] == {"call-later": 3600.0}
    assert (shown["max_attempts"], shown["queues"], shown["groups"]) == (5, ["outbound"], ["team1"])
    listed = json.loads(tvox.ok("campaign", "list", "-t", "acme", "--json"))
    assert [c["name"] for c in listed] == ["spring"]
    assert "spring" in tvox.ok("campaign", "list", "-t", "acme")


def test_bad_settings_are_refused_with_one_line_and_nothing_changes(tvox_any: Tvox) -> None:
    tvox = desk(tvox_any)
    tvox.ok("campaign", "add", "-t", "acme", "spring", "--queue", "outbound")
    assert "closes before it opens" in tvox.fails(
        "campaign", "set", "-t", "acme", "spring", "--window", "mon-fri 20:00-09:00"
    )
    assert "hours from 00:00 to 24:00" in tvox.fails(
        "campaign", "set", "-t", "acme", "spring", "--window", "mon-fri 24:00-24:00"
    )
    assert "at least 15 s" in tvox.fails("campaign", "set", "-t", "acme", "spring", "--ring-s", "10")
    assert "no queue 'nope'" in tvox.fails("campaign", "set", "-t", "acme", "spring", "--queue", "nope")
    assert "already exists" in tvox.fails("campaign", "add", "-t", "acme", "spring")
    assert "no campaign 'autumn'" in tvox.fails("campaign", "show", "-t", "acme", "autumn")
    shown = json.loads(tvox.ok("campaign", "show", "-t", "acme", "spring", "--json"))
    assert (shown["window"], shown["ring_s"], shown["queues"]) == ("mon-fri 09:00-20:00", 25.0, ["outbound"])
    tvox.ok("campaign", "set", "-t", "acme", "spring", "--window", "mon-sun 18:00-24:00")  # until midnight
    assert json.loads(tvox.ok("campaign", "show", "-t", "acme", "spring", "--json"))["window"] == "mon-sun 18:00-24:00"


def test_a_list_with_any_bad_line_imports_nothing_and_names_every_line(tvox_any: Tvox, tmp_path: Path) -> None:
    tvox = desk(tvox_any)
    tvox.ok("campaign", "add", "-t", "acme", "spring", "--queue", "outbound")
    bad = tmp_path / "bad.csv"
    bad.write_text("phone,name\n+12125550143,Ann\nxyz,Bob\n+12125550144,Cy,extra\n")
    result = tvox("campaign", "import-list", "-t", "acme", "spring", str(bad), "--number-column", "phone")
    assert result.exit_code == 1
    assert f"error: {bad}:3: 'xyz' is not a phone number" in result.output
    assert f"error: {bad}:4: 3 values, the header has 2 columns" in result.output
    assert "nothing imported (2 problems)" in result.output
    assert "no 'number' column" in tvox.fails("campaign", "import-list", "-t", "acme", "spring", str(bad))
    shown = json.loads(tvox.ok("campaign", "show", "-t", "acme", "spring", "--json"))
    assert sum(shown["records"].values()) == 0
    good = tmp_path / "good.csv"
    good.write_text("phone,name,plan\n+12125550143,Ann,gold\n02 1234 5678,Bob,silver\n")  # tenant country: IT
    assert "2 records imported" in tvox.ok(
        "campaign", "import-list", "-t", "acme", "spring", str(good), "--number-column", "phone"
    )
    shown = json.loads(tvox.ok("campaign", "show", "-t", "acme", "spring", "--json"))
    assert shown["records"]["pending"] == 2


def test_start_pause_stop(tvox_any: Tvox, tmp_path: Path) -> None:
    tvox = desk(tvox_any)
    tvox.ok("campaign", "add", "-t", "acme", "spring")
    assert "no queue or group" in tvox.fails("campaign", "start", "-t", "acme", "spring")
    tvox.ok("campaign", "set", "-t", "acme", "spring", "--group", "team1")
    assert "its groups work no queue" in tvox.fails("campaign", "start", "-t", "acme", "spring")
    tvox.ok("group", "set", "-t", "acme", "team1", "--queue", "outbound")  # team1's agents work it through outbound
    assert "no record to dial" in tvox.fails("campaign", "start", "-t", "acme", "spring")
    (tmp_path / "l.csv").write_text("number\n+12125550143\n")
    tvox.ok("campaign", "import-list", "-t", "acme", "spring", str(tmp_path / "l.csv"))
    assert "running" in tvox.ok("campaign", "start", "-t", "acme", "spring")
    assert "paused" in tvox.ok("campaign", "pause", "-t", "acme", "spring")
    assert "running" in tvox.ok("campaign", "start", "-t", "acme", "spring")
    assert "stopped" in tvox.ok("campaign", "stop", "-t", "acme", "spring")
    assert "it cannot be made running" in tvox.fails("campaign", "start", "-t", "acme", "spring")
    assert "takes no more records" in tvox.fails(
        "campaign", "import-list", "-t", "acme", "spring", str(tmp_path / "l.csv")
    )
    # one audit row per change of status, none for the refused ones; the chain still checks out
    rows = [
        r
        for r in json.loads(tvox.ok("audit", "list", "--tenant", "acme", "--json"))
        if r["action"].startswith("campaign.")
    ]
    assert [(r["action"], r["detail"]["from"], r["detail"]["to"], r["subject"]) for r in rows] == [
        ("campaign.start", "draft", "running", "campaign spring"),
        ("campaign.pause", "running", "paused", "campaign spring"),
        ("campaign.start", "paused", "running", "campaign spring"),
        ("campaign.stop", "running", "stopped", "campaign spring"),
    ]
    assert all(r["actor"].startswith("cli:") for r in rows)
    assert tvox("audit", "verify").exit_code == 0


def test_the_do_not_call_list(tvox_any: Tvox) -> None:
    tvox = desk(tvox_any)
    assert "2 numbers added" in tvox.ok("campaign", "dnc", "add", "-t", "acme", "02 1234 5678", "+12125550143")
    assert "0 numbers added" in tvox.ok("campaign", "dnc", "add", "-t", "acme", "+390212345678")
    assert "not a valid number" in tvox.fails("campaign", "dnc", "add", "-t", "acme", "123")
    listed = json.loads(tvox.ok("campaign", "dnc", "list", "-t", "acme", "--json"))
    assert [r["number"] for r in listed] == ["+12125550143", "+390212345678"]
    tvox.ok("campaign", "dnc", "remove", "-t", "acme", "+12125550143")
    assert "not on tenant 'acme'" in tvox.fails("campaign", "dnc", "remove", "-t", "acme", "+12125550143")


def test_stats_read_the_ledger_over_the_rules_window(tvox_any: Tvox) -> None:
    tvox = desk(tvox_any)
    tvox.ok("campaign", "add", "-t", "acme", "spring", "--rule", "24-hours", "--amd-false-positives", "0")
    now = datetime.now(UTC)

    async def fill() -> None:
        store = Store.from_url(load_settings(str(tvox.config)).database.url.get_secret_value())
        try:
            async with store.tenant(await tenant_id_of(store, "acme")) as session:
                (campaign,) = (await session.execute(m.Campaign.__table__.select())).all()
                rows = [(now - timedelta(hours=30), LedgerEntry.ABANDONED)]  # outside the 24 hours
                rows += [(now - timedelta(hours=1), LedgerEntry.LIVE)] * 49
                rows += [(now - timedelta(minutes=5), LedgerEntry.ABANDONED)]
                session.add_all(m.AbandonLedgerRow(campaign_id=campaign.id, at=at, entry=e) for at, e in rows)
                await session.commit()
        finally:
            await store.dispose()

    asyncio.run(fill())
    stats = json.loads(tvox.ok("campaign", "stats", "-t", "acme", "spring", "--json"))
    assert stats["ledger"] == {
        "rule": "24-hours",
        "window_hours": 24.0,
        "live_answered": 50.0,
        "abandoned": 1.0,
        "abandon_rate": 0.02,
    }
    assert "1 abandoned of 50 live-answered = 2.00%" in tvox.ok("campaign", "stats", "-t", "acme", "spring")
