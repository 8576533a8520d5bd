"""Benchmark helpers: alternate ours and the baseline, medians, peak memory, one results file."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]
TACO = REPO.parent / "shared" / "data" / "taco-trash11"


def timed(fn: Callable[[], Any], trace_memory: bool = False) -> tuple[float, Any, int]:
    """(seconds, result, peak traced bytes) of one call."""
    if trace_memory:
        tracemalloc.start()
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    peak = 0
    if trace_memory:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return seconds, result, peak


def compare(ours: Callable[[], Any], baseline: Callable[[], Any], repeats: int = 3, trace_memory: bool = True) -> dict[str, Any]:
    """Alternate baseline and ours ``repeats`` times; medians, ratio baseline/ours, peak memory of the last run each."""
    times_ours, times_base = [], []
    result_ours = result_base = None
    peak_ours = peak_base = 0
    for k in range(repeats):
        last = k == repeats - 1
        t, result_base, p = timed(baseline, trace_memory and last)
        times_base.append(t)
        peak_base = p or peak_base
        t, result_ours, p = timed(ours, trace_memory and last)
        times_ours.append(t)
        peak_ours = p or peak_ours
    ours_s, base_s = statistics.median(times_ours), statistics.median(times_base)
    return {"ours_s": ours_s, "baseline_s": base_s, "speedup": base_s / ours_s if ours_s else None,
            "ours_peak_mb": peak_ours / 2**20, "baseline_peak_mb": peak_base / 2**20, "repeats": repeats,
            "_results": (result_ours, result_base)}


def machine() -> dict[str, Any]:
    import numpy
    import torch

    return {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
            "numpy": numpy.__version__, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout.strip()}


def save(section: str, figures: dict[str, Any]) -> Path:
    """Merge one benchmark's figures into results/latest.json (written atomically)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "latest.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data["machine"] = machine()
    data[section] = _public(figures)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=float))
    os.replace(tmp, path)
    return path


def _public(value: Any) -> Any:
    """Drop private entries (raw results kept for equality checks) at every level."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not str(k).startswith("_")}
    return value


def markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def fmt(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def line_plot_png(series: dict[str, list[tuple[float, float]]], path: Path, title: str, xlabel: str, ylabel: str) -> Path:
    """A small line chart drawn with Pillow (no plotting library needed), saved as PNG."""
    from PIL import Image, ImageDraw

    width, height, margin = 640, 400, 60
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    points = [p for values in series.values() for p in values]
    x_lo, x_hi = min(p[0] for p in points), max(p[0] for p in points)
    y_lo, y_hi = 0.0, max(p[1] for p in points) * 1.1

    def to_px(x: float, y: float) -> tuple[float, float]:
        return (margin + (x - x_lo) / ((x_hi - x_lo) or 1) * (width - 2 * margin),
                height - margin - (y - y_lo) / ((y_hi - y_lo) or 1) * (height - 2 * margin))

    draw.line([to_px(x_lo, y_lo), to_px(x_hi, y_lo)], fill="black")
    draw.line([to_px(x_lo, y_lo), to_px(x_lo, y_hi)], fill="black")
    for tick in range(5):
        y = y_lo + tick * (y_hi - y_lo) / 4
        draw.text((5, to_px(x_lo, y)[1] - 6), f"{y:.0f}", fill="black")
    for x in sorted({p[0] for p in points}):
        draw.text((to_px(x, y_lo)[0] - 10, height - margin + 5), f"{x:g}", fill="black")
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    for k, (name, values) in enumerate(series.items()):
        pixels = [to_px(x, y) for x, y in sorted(values)]
        draw.line(pixels, fill=colours[k % 4], width=3)
        for px in pixels:
            draw.ellipse([px[0] - 4, px[1] - 4, px[0] + 4, px[1] + 4], fill=colours[k % 4])
        draw.text((margin + 10 + 150 * k, 10), name, fill=colours[k % 4])
    draw.text((width // 2 - 60, height - 25), xlabel, fill="black")
    draw.text((margin, 30), f"{title} ({ylabel})", fill="black")
    image.save(path)
    return path
