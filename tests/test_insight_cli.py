"""`tvoxcc insight report|summary` on SQLite and PostgreSQL, on the scripted day."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from tests.cli import Tvox
from tests.test_insight_store import insert_day
from tvoxcc.store.engine import Store

DAY = ("--tenant", "acme", "--from", "2026-03-10")


@pytest.fixture
async def day(tvox_any: Tvox, db_url: str) -> Tvox:
    store = Store.from_url(db_url)
    await insert_day(store)
    await store.dispose()
    return tvox_any


def test_json_report_by_queue(day: Tvox) -> None:
    data = json.loads(day.ok("insight", "report", *DAY, "--by", "queue", "--format", "json"))
    assert data["timezone"] == "Europe/Rome" and data["sl_threshold_s"] == 20
    rows = {r["queue"]: r for r in data["rows"]}
    assert rows["sales"]["offered"] == 6 and rows["sales"]["sl_pct"] == 20.0 and rows["sales"]["rona"] == 1
    assert rows["total"]["offered"] == 9 and rows["total"]["sl_pct"] == 37.5 and rows["total"]["nps"] == 25.0
    assert rows["total"]["asa_s"] == 373.0 and rows["total"]["aht_s"] == 385.0
    assert rows["-"]["offered"] == 0 and rows["-"]["tickets_resolved"] == 5 and rows["-"]["fcr_pct"] == 40.0
    assert rows["sales"]["callbacks_requested"] == 1 and rows["-"]["callbacks_requested"] == 1
    assert rows["total"]["occupancy_pct"] is None  # agent states are not a queue's


def test_json_report_by_agent_has_occupancy_and_state_time(day: Tvox) -> None:
    data = json.loads(day.ok("insight", "report", *DAY, "--by", "agent", "--format", "json"))
    rows = {r["agent"]: r for r in data["rows"]}
    assert rows["mario"]["occupancy_pct"] == 3.7  # 1075 / 28800
    assert rows["mario"]["state_s"] == {"available": 27725, "busy": 1020, "paused": 4500, "wrap-up": 55}
    assert rows["luigi"]["tickets_resolved"] == 2 and rows["luigi"]["fcr_pct"] == 0.0
    assert rows["total"]["occupancy_pct"] == 1.6 and rows["total"]["fcr_pct"] == 40.0


def test_csv_by_agent_and_the_basic_sql_path(day: Tvox) -> None:
    out = day.ok("insight", "report", *DAY, "--to", "2026-03-11", "--by", "agent", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    mario = next(r for r in rows if r["agent"] == "mario")
    assert mario["pause_s"] == "lunch=2700 meeting=1800" and mario["answered"] == "3"
    assert [r["interval"] for r in rows if r["agent"] == "luigi"] == ["2026-03-10", "2026-03-11"]
    basic = json.loads(day.ok("insight", "report", *DAY, "--by", "interval", "--basic", "--format", "json"))
    assert basic["rows"][0]["offered"] == 9 and basic["rows"][0]["sl_pct"] == 37.5
    assert basic["rows"][0]["aht_s"] is None and "nps" not in basic["rows"][0]
    assert (basic["rows"][0]["callbacks_requested"], basic["rows"][0]["callbacks_completed"]) == (2, 1)
    assert (basic["rows"][0]["tickets_resolved"], basic["rows"][0]["fcr_pct"]) == (5, 40.0)


def test_hourly_table(day: Tvox) -> None:
    out = day.ok("insight", "report", *DAY, "--by", "interval", "--interval", "1h")
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["INTERVAL", "OFFERED"]
    nine = next(line for line in lines if line.startswith("2026-03-10 09:00"))
    assert nine.split()[2:5] == ["5", "2", "2"]  # offered, answered, abandoned (the 3 s one is short)
    assert lines[-1].split()[:2] == ["total", "9"] and any(line.startswith("2026-03-10 23:00") for line in lines)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def test_html_is_self_contained_with_three_svg_charts(day: Tvox) -> None:
    page = day.ok("insight", "report", *DAY, "--format", "html")
    parser = _Tags()
    parser.feed(page)
    assert parser.tags.count("svg") == 3 and "table" in parser.tags and "script" not in parser.tags
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    charts = re.findall(r"<svg.*?</svg>", page, re.S)
    for chart in charts:
        ET.fromstring(chart)  # each chart is well-formed XML
    assert "Service level" in charts[0] and "polyline" in charts[0] and "<rect" in charts[1]
    # the 10:00 bars: 2 offered, 0 abandoned; the agent stack by hour: 09:00 busy 420 s, 10:00 busy 180 s
    assert "<title>10:00 offered: 1</title>" in charts[1] and "<title>09:00 abandoned: 2</title>" in charts[1]
    assert "Agent states" in charts[2]
    assert "<title>09:00 busy: 0.12</title>" in charts[2] and "<title>10:00 busy: 0.05</title>" in charts[2]
    assert "<title>09:00 reserved: 0.00</title>" in charts[2]  # luigi rang 15 s


def test_summary(day: Tvox) -> None:
    out = day.ok("insight", "summary", "--tenant", "acme", "--date", "2026-03-10")
    lines = out.splitlines()
    assert lines[0].startswith("acme on 2026-03-10 (Europe/Rome)")
    assert lines[2].split() == ["all", "9", "5", "2", "37.5%", "373s", "385s", "+25", "0"]  # none shed
    assert lines[3].split()[:5] == ["sales", "6", "2", "2", "20.0%"]
    assert lines[5].startswith("agents: occupancy 1.6%, paused 5100s; callbacks 2 requested, 1 completed")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report", "--tenant", "nobody", "--from", "2026-03-10"), "unknown tenant 'nobody'"),
        (("report", "--tenant", "acme", "--from", "2026-13-10"), "--from '2026-13-10' is not a date"),
        (("report", "--tenant", "acme", "--from", "2026-03-10", "--to", "2026-03-09"), "is after --to"),
        (("summary", "--tenant", "acme", "--date", "yesterday"), "--date 'yesterday' is not a date"),
        (("summary", "--tenant", "nobody"), "unknown tenant 'nobody'"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_1(day: Tvox, args: tuple[str, ...], message: str) -> None:
    result = day("insight", *args)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert result.output.startswith("error:") and message in result.output


def test_refresh_then_basic_report_reads_the_slots(day: Tvox) -> None:
    # from the first interaction: ticket 3's mail of the day before, 20:00 in Rome
    assert "rebuilt slots of 'acme' from 2026-03-09 19:00" in day.ok("insight", "refresh", "--tenant", "acme")
    basic = json.loads(day.ok("insight", "report", *DAY, "--by", "queue", "--basic", "--format", "json"))
    rows = {r["queue"]: r for r in basic["rows"]}
    assert rows["sales"]["offered"] == 6 and rows["total"]["sl_pct"] == 37.5
    assert "error: unknown tenant 'nobody'" in day.fails("insight", "refresh", "--tenant", "nobody")
