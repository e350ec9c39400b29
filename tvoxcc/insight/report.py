"""A computed report and its renderings: rows for table/CSV/JSON, a self-contained HTML page, a summary.

Pure: it formats figures it is given (tvoxcc.insight.api builds them from the store).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from typing import Any

from tvoxcc.insight.figures import Figures, Key, totals
from tvoxcc.insight.model import Dimension, Interval, Params
from tvoxcc.insight.svg import bar_chart, line_chart, stacked_chart
from tvoxcc.queues.model import AgentStatus

COLUMNS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "sl_pct",
    "sl_abandons_pct",
    "asa_s",
    "aht_s",
    "longest_wait_s",
    "shed",
    "transfers",
    "rona",
    "callbacks_requested",
    "callbacks_completed",
    "nps",
    "nps_answers",
    "occupancy_pct",
    "tickets_resolved",
    "fcr_pct",
    "sla_breaches",
    "outbound",
    "outbound_answered",
    "outbound_talk_s",
    "pause_s",
    "state_s",
)
BASIC_COLUMNS = (
    *COLUMNS[:10],
    "callbacks_requested",
    "callbacks_completed",
    "tickets_resolved",
    "fcr_pct",
    "sla_breaches",
)
# bottom to top in the agent state stack: handling first, so occupancy reads off the lower part
STATE_COLOURS = (
    (AgentStatus.BUSY, "#d62728"),
    (AgentStatus.WRAPUP, "#ff7f0e"),
    (AgentStatus.RESERVED, "#bcbd22"),
    (AgentStatus.AVAILABLE, "#2ca02c"),
    (AgentStatus.PAUSED, "#7f7f7f"),
)


@dataclass(frozen=True, slots=True)
class Report:
    tenant: str
    first: date
    last: date
    by: Dimension
    params: Params
    rows: Mapping[Key, Figures]
    series: Mapping[Key, Figures] = field(default_factory=dict)  # whole tenant per interval, for the plots
    basic: bool = False  # from the SQL aggregate: counts, waits and talk only

    @property
    def total(self) -> Figures:
        return totals(self.rows.values())

    @property
    def columns(self) -> tuple[str, ...]:
        return BASIC_COLUMNS if self.basic else COLUMNS


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def values(f: Figures, basic: bool = False) -> dict[str, Any]:
    row: dict[str, Any] = {
        "offered": f.offered,
        "answered": f.answered,
        "abandoned": f.abandoned,
        "short_abandoned": f.short_abandoned,
        "sl_pct": _round(f.service_level),
        "sl_abandons_pct": _round(f.service_level_abandons),
        "asa_s": _round(f.asa_s),
        "aht_s": _round(f.aht_s),
        "longest_wait_s": _round(f.longest_wait_s),
        "shed": f.shed,
    }
    if basic:
        # the SQL path has talk time but no wrap-up: AHT would be understated, so it is left out
        row["aht_s"] = None
        row.update(
            callbacks_requested=f.callbacks_requested,
            callbacks_completed=f.callbacks_completed,
            tickets_resolved=f.tickets_resolved,
            fcr_pct=_round(f.fcr),
            sla_breaches=f.sla_breaches,
        )
        return row
    row.update(
        transfers=f.transfers,
        rona=f.rona,
        callbacks_requested=f.callbacks_requested,
        callbacks_completed=f.callbacks_completed,
        nps=_round(f.nps),
        nps_answers=f.nps_answers,
        occupancy_pct=_round(f.occupancy),
        tickets_resolved=f.tickets_resolved,
        fcr_pct=_round(f.fcr),
        sla_breaches=f.sla_breaches,
        outbound=f.outbound,
        outbound_answered=f.outbound_answered,
        outbound_talk_s=round(f.outbound_talk_s),
        pause_s={code: round(s) for code, s in sorted(f.pause_s.items())},
        state_s={state: round(s) for state, s in sorted(f.state_s.items())},
    )
    return row


def _interval_label(at: datetime, interval: Interval) -> str:
    return at.strftime("%Y-%m-%d") if interval is Interval.DAY else at.strftime("%Y-%m-%d %H:%M")


def records(report: Report) -> list[dict[str, Any]]:
    """One dict per row, in key order, then a total row."""
    name = report.by.value
    out = [
        {name: group, "interval": _interval_label(at, report.params.interval), **values(f, report.basic)}
        for (group, at), f in report.rows.items()
    ]
    # by interval the group is always the whole tenant: the total row is named in the interval column
    out.append(
        {
            name: "total",
            "interval": "total" if report.by is Dimension.INTERVAL else "",
            **values(report.total, report.basic),
        }
    )
    return out


def header(report: Report) -> list[str]:
    lead = ["interval"] if report.by is Dimension.INTERVAL else [report.by.value, "interval"]
    return [*lead, *report.columns]


def to_json(report: Report) -> str:
    return json.dumps(
        {
            "tenant": report.tenant,
            "from": report.first.isoformat(),
            "to": report.last.isoformat(),
            "by": report.by.value,
            "interval": report.params.interval.value,
            "timezone": report.params.tz.key,
            "sl_threshold_s": report.params.sl_threshold_s,
            "short_abandon_s": report.params.short_abandon_s,
            "rows": records(report),
        },
        indent=2,
    )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items()) or "-"
    return str(value)


def to_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = header(report)
    writer.writerow(names)
    for record in records(report):
        writer.writerow(["" if record.get(c) is None else _cell(record.get(c)) for c in names])
    return buffer.getvalue()


def to_table(report: Report) -> str:
    names = header(report)
    cells = [[_cell(r.get(c)) for c in names] for r in records(report)]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(names)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(names, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def to_html(report: Report) -> str:
    """A page that needs nothing else: inline CSS, the table, SL over time and volume vs abandons in SVG."""
    names = header(report)
    head = "".join(f"<th>{escape(h)}</th>" for h in names)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{escape(_cell(r.get(c)))}</td>" for c in names) + "</tr>" for r in records(report)
    )
    series = sorted(report.series.items())
    labels = [at.strftime("%H:%M") if report.first == report.last else _short(at) for (_, at), _ in series]
    sl = line_chart("Service level (%)", labels, [f.service_level for _, f in series])
    volume = bar_chart(
        "Offered, abandoned and shed",
        labels,
        [
            ("offered", [f.offered for _, f in series], "#1f77b4"),
            ("abandoned", [f.abandoned for _, f in series], "#d62728"),
            ("shed", [f.shed for _, f in series], "#9467bd"),
        ],
    )
    states = stacked_chart(
        "Agent states (hours)",
        labels,
        [(state, [f.state_s.get(state, 0.0) / 3600 for _, f in series], colour) for state, colour in STATE_COLOURS],
    )
    title = f"{report.tenant}: {report.first.isoformat()} – {report.last.isoformat()} by {report.by.value}"
    p = report.params
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>body{{font-family:sans-serif;margin:1.5em}}table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right}}th{{background:#f3f3f3}}
tr:last-child td{{font-weight:bold}}</style></head>
<body><h1>{escape(title)}</h1>
<p>Time zone {escape(p.tz.key)}, interval {p.interval.value}, service level threshold {p.sl_threshold_s:g} s,
abandons shorter than {p.short_abandon_s:g} s not counted. Calls count in the interval they were offered.</p>
<table><thead><tr>{head}</tr></thead><tbody>
{body}
</tbody></table>
<h2>Over time</h2>
{sl}
{volume}
{states}
</body></html>
"""


def _short(at: datetime) -> str:
    return at.strftime("%m-%d") if at.hour == 0 and at.minute == 0 else at.strftime("%m-%d %H:%M")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}s"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def summary(
    tenant: str,
    day: date,
    params: Params,
    total: Figures,
    queues: Mapping[str, Figures],
    *,
    tenant_wide: Figures | None = None,
) -> str:
    """The one-screen summary of a day: the tenant's figures, one line per queue, then agents and tickets."""
    header = ("", "OFFERED", "ANSWERED", "ABANDONED", "SL", "ASA", "AHT", "NPS", "SHED")
    rows = [("all", total), *sorted(queues.items())]
    cells = [
        (
            name,
            str(f.offered),
            str(f.answered),
            str(f.abandoned),
            _pct(f.service_level),
            _seconds(f.asa_s),
            _seconds(f.aht_s),
            "-" if f.nps is None else f"{f.nps:+.0f}",
            str(f.shed),
        )
        for name, f in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    lines = [
        f"{tenant} on {day.isoformat()} ({params.tz.key}): SL = answered within {params.sl_threshold_s:g} s, "
        f"abandons under {params.short_abandon_s:g} s left out",
        "  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))),
    ]
    for c in cells:
        lines.append("  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(c, widths, strict=True))))
    if tenant_wide is not None:
        f = tenant_wide
        lines.append(
            f"agents: occupancy {_pct(f.occupancy)}, paused {_seconds(sum(f.pause_s.values()))}; "
            f"callbacks {f.callbacks_requested} requested, {f.callbacks_completed} completed; "
            f"tickets {f.tickets_resolved} resolved, first-contact {_pct(f.fcr)}, SLA breaches {f.sla_breaches}"
        )
    return "\n".join(line.rstrip() for line in lines)
