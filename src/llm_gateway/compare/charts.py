"""Self-contained HTML reports: a page shell and horizontal bar charts as inline SVG (no script,
no CDN — the file opens offline and can be mailed). Every text is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1f24;max-width:1100px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #d0d7de;
padding:.25rem .6rem;text-align:right;font-variant-numeric:tabular-nums}
th{background:#f6f8fa}td:first-child,th:first-child{text-align:left}
.note{color:#57606a;font-size:.9rem}.bad{color:#b42318}.good{color:#067647}
svg text{font-size:12px;font-family:system-ui,sans-serif}
"""
PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756")


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    unit: str = "",
) -> str:
    """Grouped horizontal bars: one group per label, one bar per series (at most four)."""
    label_w, bar_h, gap, width = 180, 14, 10, 720
    values = [v for _, vs in series for v in vs]
    top = max([abs(v) for v in values] + [0.0]) or 1.0
    group_h = bar_h * len(series) + gap
    legend_y = 30 + group_h * len(labels) + 10
    height = legend_y + 20 * len(series) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + label_w + 120}" '
        f'height="{height}" role="img" aria-label="{escape(title)}">',
        f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>',
    ]
    for i, label in enumerate(labels):
        y0 = 30 + i * group_h
        parts.append(f'<text x="0" y="{y0 + bar_h}">{escape(label[:28])}</text>')
        for j, (_, vs) in enumerate(series):
            value = vs[i]
            w = max(1.0, abs(value) / top * width)
            y = y0 + j * bar_h
            colour = PALETTE[j % len(PALETTE)]
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" '
                f'fill="{colour}"><title>{escape(f"{value:g}{unit}")}</title></rect>'
                f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}">'
                f"{escape(f'{value:.4g}{unit}')}</text>"
            )
    for j, (name, _) in enumerate(series):
        y = legend_y + j * 20
        parts.append(
            f'<rect x="{label_w}" y="{y}" width="12" height="12" '
            f'fill="{PALETTE[j % len(PALETTE)]}"/>'
            f'<text x="{label_w + 18}" y="{y + 11}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
