"""Small inline SVG charts for the HTML report: no scripts, no external files, readable without a browser."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 720, 220, 44, 12, 28, 36


def _frame(title: str, top: float, unit: str) -> list[str]:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img">',
        f"<title>{escape(title)}</title>",
        f'<text x="{PAD_L}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for frac in (0.0, 0.5, 1.0):
        y = _y(frac * top, top)
        parts.append(f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{W - PAD_R}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{PAD_L - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{frac * top:g}{unit}</text>'
        )
    return parts


def _y(value: float, top: float) -> float:
    return PAD_T + (H - PAD_T - PAD_B) * (1 - (value / top if top else 0))


def _x(index: int, count: int) -> float:
    step = (W - PAD_L - PAD_R) / max(count, 1)
    return PAD_L + step * (index + 0.5)


def _labels(labels: Sequence[str]) -> list[str]:
    every = max(1, len(labels) // 12)  # at most about 12 labels: 96 quarter-hours would overlap
    return [
        f'<text x="{_x(i, len(labels)):.1f}" y="{H - PAD_B + 14}" font-size="10" text-anchor="middle">'
        f"{escape(s)}</text>"
        for i, s in enumerate(labels)
        if i % every == 0
    ]


def line_chart(title: str, labels: Sequence[str], values: Sequence[float | None], *, top: float = 100.0) -> str:
    """A line over the intervals; intervals without a value (nothing offered) break the line."""
    parts = _frame(title, top, "%")
    segment: list[str] = []
    for i, v in enumerate([*values, None]):
        if v is None:
            if segment:
                parts.append(f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{" ".join(segment)}"/>')
            segment = []
            continue
        x, y = _x(i, len(values)), _y(v, top)
        segment.append(f"{x:.1f},{y:.1f}")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1f77b4">'
            f"<title>{escape(labels[i])}: {v:.1f}%</title></circle>"
        )
    parts += _labels(labels)
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int], str]]) -> str:
    """Grouped bars per interval, one colour per series, with a legend."""
    top = float(max((v for _, values, _ in series for v in values), default=0) or 1)
    parts = _frame(title, top, "")
    group_w = (W - PAD_L - PAD_R) / max(len(labels), 1) * 0.8
    bar_w = group_w / max(len(series), 1)
    for s_index, (name, values, colour) in enumerate(series):
        for i, v in enumerate(values):
            x = _x(i, len(labels)) - group_w / 2 + s_index * bar_w
            y = _y(v, top)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{H - PAD_B - y:.1f}" fill="{colour}">'
                f"<title>{escape(labels[i])} {escape(name)}: {v}</title></rect>"
            )
        lx = W - PAD_R - 110 * (len(series) - s_index)
        parts.append(f'<rect x="{lx}" y="8" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 14}" y="17" font-size="11">{escape(name)}</text>')
    parts += _labels(labels)
    parts.append("</svg>")
    return "\n".join(parts)


def stacked_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float], str]]) -> str:
    """One bar per interval, the series stacked bottom to top in the order given, with a legend."""
    heights = [sum(values[i] for _, values, _ in series) for i in range(len(labels))]
    top = float(max(heights, default=0) or 1)
    parts = _frame(title, round(top, 2), "")
    bar_w = (W - PAD_L - PAD_R) / max(len(labels), 1) * 0.8
    for i, label in enumerate(labels):
        base = 0.0
        for name, values, colour in series:
            v = values[i]
            if v <= 0:
                continue
            y_top, y_bottom = _y(base + v, top), _y(base, top)
            parts.append(
                f'<rect x="{_x(i, len(labels)) - bar_w / 2:.1f}" y="{y_top:.1f}" width="{bar_w:.1f}" '
                f'height="{y_bottom - y_top:.1f}" fill="{colour}"><title>{escape(label)} {escape(name)}: '
                f"{v:.2f}</title></rect>"
            )
            base += v
    for s_index, (name, _, colour) in enumerate(series):
        lx = W - PAD_R - 90 * (len(series) - s_index)
        parts.append(f'<rect x="{lx}" y="8" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 14}" y="17" font-size="11">{escape(name)}</text>')
    parts += _labels(labels)
    parts.append("</svg>")
    return "\n".join(parts)
