"""Turn ``bench/gpu_train.sh``'s JSON lines into ``bench/results/gpu_train_<device>.json`` and a Markdown table.

Why a separate step: the GPU run must be short and write raw records as it goes;
the comparisons (before vs after, loss curves, the report's workload in GPU
hours) are arithmetic that runs anywhere.
Usage: python -m bench.gpu_train_report RESULTS.jsonl [--json OUT.json] > table.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# The report's workload: 3,272 labeled images in 5 folds (4/5 train, 1/5 validate each), 819 test images
# pseudo-labeled for round 2, 50 epochs per round, two rounds, five folds, three model families.
WORKLOAD = {
    "images": 3272,
    "test_images": 819,
    "folds": 5,
    "epochs": 50,
    "rounds": 2,
    "families": ["upernet-convnext", "beit-upernet", "mask2former-swin"],
}


def _after(records: dict[str, dict]) -> dict | None:
    """The fastest variant measured ('compiled' when it ran), i.e. what trashseg train now does or can do."""
    candidates = [records[v] for v in ("compiled", "batch", "fused") if v in records]
    return max(candidates, key=lambda r: r["train_images_per_s"]) if candidates else None


def _loss_gap(a: dict, b: dict) -> float | None:
    """Largest relative difference between two variants' per-step losses (same weights, same batches)."""
    if a["batch"] != b["batch"]:
        return None
    pairs = list(zip(a["losses"], b["losses"]))
    return max(abs(x - y) / max(abs(x), 1e-12) for x, y in pairs) if pairs else None


def hours_for(family_preset: str, train_ips: float, infer_ips: float) -> dict:
    """Wall time of the report's workload for one family on one GPU, from measured throughput."""
    w = WORKLOAD
    train_part = w["images"] * (w["folds"] - 1) // w["folds"]
    validation_part = w["images"] - train_part
    train_images = w["folds"] * w["epochs"] * (train_part + (train_part + w["test_images"]))  # round 1, round 2
    validated_images = w["folds"] * w["epochs"] * w["rounds"] * validation_part
    seconds = train_images / train_ips + validated_images / infer_ips
    return {
        "preset": family_preset,
        "train_images": train_images,
        "validated_images": validated_images,
        "gpu_hours": seconds / 3600,
    }


def summarise(lines: list[dict]) -> dict:
    presets: dict[str, dict[str, dict]] = {}
    summary: dict = {"loader": [], "real_train": [], "presets": {}}
    for record in lines:
        if "loader_workers" in record:
            summary["loader"].append(record)
        elif "real_train" in record:
            summary["real_train"].append(record)
        else:
            presets.setdefault(record["preset"], {})[record["variant"]] = record
            summary["device"] = record["device"]
    for name, variants in presets.items():
        before, after = variants.get("before"), _after(variants)
        entry = {"variants": variants}
        if before and after:
            entry["speedup"] = after["train_images_per_s"] / before["train_images_per_s"]
            entry["after_variant"] = after["variant"]
        if "fp32" in variants and after:
            entry["speedup_over_fp32_eager"] = after["train_images_per_s"] / variants["fp32"]["train_images_per_s"]
        if "batch" in variants and "compiled" in variants:
            entry["compile_loss_gap"] = _loss_gap(variants["batch"], variants["compiled"])
            entry["compile_seconds"] = (
                variants["compiled"]["warmup_seconds"] - 3 * variants["batch"]["train_step_ms"] / 1000
            )
        if "batch" in variants and "ddp" in variants:
            entry["ddp_one_gpu_ratio"] = variants["ddp"]["train_images_per_s"] / variants["batch"]["train_images_per_s"]
            entry["ddp_loss_gap"] = _loss_gap(variants["batch"], variants["ddp"])
        summary["presets"][name] = entry
    projection = []
    for family in WORKLOAD["families"]:
        variants = presets.get(family, {})
        after, infer = _after(variants), variants.get("batch") or variants.get("before")
        if after and infer and "infer_images_per_s" in infer:
            projection.append(hours_for(family, after["train_images_per_s"], infer["infer_images_per_s"]))
    summary["projection"] = {
        "workload": WORKLOAD,
        "per_family": projection,
        "total_gpu_hours": sum(p["gpu_hours"] for p in projection) if projection else None,
    }
    return summary


def _f(value, digits=1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def markdown(summary: dict) -> str:
    rows = [
        "| preset | variant | batch | img/s | TFLOP/s | MFU | peak GiB | train GFLOP/img |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in summary["presets"].items():
        for variant, r in entry["variants"].items():
            rows.append(
                f"| {name} | {variant} | {r['batch']} | {_f(r['train_images_per_s'])} | {_f(r['train_tflop_s'])} | "
                f"{_f(100 * r['train_mfu'] if r.get('train_mfu') is not None else None)}% | {_f(r['train_peak_gib'])} "
                "| "
                f"{_f(r['train_gflop_per_image'], 0)} |"
            )
    lines = rows + [""]
    for name, entry in summary["presets"].items():
        facts = [f"{k} {_f(v, 3) if isinstance(v, float) else v}" for k, v in entry.items() if k != "variants"]
        lines.append(f"- {name}: " + ", ".join(facts))
    for record in summary["loader"]:
        lines.append(
            f"- loader, {record['loader_workers']} workers: {_f(record['loader_images_per_s'])} img/s at "
            f"{record['size']} px"
        )
    for record in summary["real_train"]:
        lines.append(
            f"- trashseg train {record['real_train']} on taco-trash11 at {record['size']} px: loss "
            f"{record['train_loss']}, "
            f"val mIoU {record['val_miou']}, img/s {record['images_per_s']}, peak {_f(record['peak_gib'])} GiB"
        )
    for p in summary["projection"]["per_family"]:
        lines.append(f"- projection {p['preset']}: {_f(p['gpu_hours'], 2)} GPU hours")
    if summary["projection"]["total_gpu_hours"] is not None:
        lines.append(
            f"- projection, whole workload on one GPU: {_f(summary['projection']['total_gpu_hours'], 2)} GPU hours"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="JSON lines written by bench/gpu_train.sh")
    parser.add_argument("--json", type=Path, help="write the summary here")
    args = parser.parse_args(argv)
    summary = summarise([json.loads(line) for line in args.results.read_text().splitlines() if line.strip()])
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
