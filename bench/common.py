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


def compare(
    ours: Callable[[], Any], baseline: Callable[[], Any], repeats: int = 3, trace_memory: bool = True
) -> dict[str, Any]:
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
    return {
        "ours_s": ours_s,
        "baseline_s": base_s,
        "speedup": base_s / ours_s if ours_s else None,
        "ours_peak_mb": peak_ours / 2**20,
        "baseline_peak_mb": peak_base / 2**20,
        "repeats": repeats,
        "_results": (result_ours, result_base),
    }


def machine() -> dict[str, Any]:
    import numpy
    import torch

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
        ).stdout.strip(),
    }


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


def line_plot_png(
    series: dict[str, list[tuple[float, float]]], path: Path, title: str, xlabel: str, ylabel: str
) -> Path:
    """A small line chart (matplotlib, no display needed), saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    try:
        for name, values in series.items():
            xs, ys = zip(*sorted(values))
            axes.plot(xs, ys, marker="o", label=name)
        axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
        axes.set_ylim(bottom=0)
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path
