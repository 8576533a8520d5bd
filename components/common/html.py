"""Self-contained HTML reports (no external scripts, styles or images) for the Kubeflow UI."""

from __future__ import annotations

import html
from typing import Sequence

import pandas as pd

STYLE = (
    "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
    "padding:3px 8px;text-align:right}th{background:#f3f3f3}h1{font-size:1.3em}h2{font-size:1.1em}"
)


def page(title: str, body: str) -> str:
    return (
        f"<!DOCTYPE html><html><head><meta "
        f"charset='utf-8'><title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def table(frame: pd.DataFrame, float_format: str = "{:.3f}") -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = "".join(
            f"<td>{float_format.format(v) if isinstance(v, float) else html.escape(str(v))}</td>" for v in row
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def line_chart(series: dict[str, Sequence[float]], title: str, width: int = 480, height: int = 220) -> str:
    """An inline SVG line chart (one polyline per series, x = epoch)."""
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    values = [v for s in series.values() for v in s if v is not None]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    count = max(len(s) for s in series.values())
    parts = [
        f"<svg width='{width}' height='{height + 30}'>",
        f"<text x='5' y='14' font-size='13'>{html.escape(title)} ({lo:.3g} .. {hi:.3g})</text>",
    ]
    for k, (name, s) in enumerate(series.items()):
        points = " ".join(
            f"{10 + i * (width - 20) / max(count - 1, 1):.1f},{20 + (height - 10) * (1 - (v - lo) / span):.1f}"
            for i, v in enumerate(s)
            if v is not None
        )
        colour = colours[k % len(colours)]
        parts.append(f"<polyline fill='none' stroke='{colour}' stroke-width='2' points='{points}'/>")
        parts.append(
            f"<text x='{10 + 110 * k}' y='{height + 25}' font-size='12' fill='{colour}'>{html.escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
