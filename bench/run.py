"""``make bench``: every benchmark in one run, figures to bench/results/latest.json and a Markdown table."""

from __future__ import annotations

import json
import os
import sys

from bench.common import RESULTS, markdown_table


def main() -> int:
    os.environ.setdefault("TRASHSEG_PROGRESS", "0")
    from bench import (
        bench_ddp,
        bench_ensemble,
        bench_infer,
        bench_ingest,
        bench_pipeline,
        bench_recipe,
        bench_serve,
        bench_submit,
        bench_taco_cv,
        bench_train,
        bench_tricks,
    )

    only = set(sys.argv[1:])
    steps = {
        "submit": bench_submit.run,
        "ensemble": bench_ensemble.run,
        "ingest": bench_ingest.run,
        "infer": bench_infer.run,
        "train": bench_train.run,
        "pipeline": bench_pipeline.run,
        "tricks": bench_tricks.run,
        "ddp": bench_ddp.run,
        "recipe": bench_recipe.run,
        "taco_cv": bench_taco_cv.run,
        "serve": bench_serve.run,
    }
    for name, step in steps.items():
        if not only or name in only:
            print(f"== {name}", flush=True)
            step()
    print(report())
    return 0


def report() -> str:
    data = json.loads((RESULTS / "latest.json").read_text())
    rows = []
    if "submit" in data:
        s = data["submit"]
        rows.append(
            {
                "benchmark": "submit 819 x 256^2",
                "ours": f"{s['ours_s']:.2f} s",
                "baseline": f"{s['baseline_s']:.2f} s",
                "baseline/ours": s["speedup"],
                "same output": s["identical"],
            }
        )
    if "ensemble" in data:
        e = data["ensemble"]
        rows.append(
            {
                "benchmark": f"hard vote {e['models']} x {e['images']} x {e['size']}^2",
                "ours": f"{e['ours_total_s']:.1f} s",
                "baseline": f"{e['baseline_total_s_estimated']:.0f} s (est.)",
                "baseline/ours": e["speedup"],
                "same output": f"{100 * e['agreement_where_defined']:.1f}% where defined",
            }
        )
    for value in data.get("ingest", {}).values():
        if isinstance(value, dict):
            rows.append(
                {
                    "benchmark": f"ingest masks, {value['dataset']}",
                    "ours": f"{value['ours_images_per_s']:.0f} img/s",
                    "baseline": f"{value['baseline_images_per_s']:.0f} img/s",
                    "baseline/ours": value["speedup"],
                    "same output": value["identical"],
                }
            )
    if "infer" in data:
        i = data["infer"]
        top = max(r["images"] for r in i["runs"])
        by = {(r["method"], r["images"]): r for r in i["runs"]}
        rows.append(
            {
                "benchmark": f"infer {top} images (tiny UperNet)",
                "ours": f"{by[('ours', top)]['images_per_s']:.1f} img/s, {by[('ours', top)]['max_rss_mb']:.0f} MB",
                "baseline": f"{by[('pipeline', top)]['images_per_s']:.1f} img/s, "
                f"{by[('pipeline', top)]['max_rss_mb']:.0f} MB",
                "baseline/ours": i["speedup_at_max"],
                "same output": f"{100 * i['label_agreement_first_images']:.1f}% pixels",
            }
        )
    if "train" in data:
        t = data["train"]
        rows.append(
            {
                "benchmark": f"train step, {t['model']}, batch {t['batch']} at {t['image_size']} px",
                "ours": f"{t['ours_images_per_s']:.1f} img/s",
                "baseline": f"{t['trainer_images_per_s']:.1f} img/s (Trainer)",
                "baseline/ours": t["speedup"],
                "same output": "n/a",
            }
        )
    if "pipeline_overhead" in data:
        p = data["pipeline_overhead"]
        rows.append(
            {
                "benchmark": "kfp.local overhead (main pipeline)",
                "ours": f"{p['kfp_local_s']:.0f} s",
                "baseline": f"{p['direct_s']:.0f} s direct",
                "baseline/ours": p["direct_s"] / p["kfp_local_s"],
                "same output": f"overhead {100 * p['overhead_share']:.0f}%",
            }
        )
        if "infer_tasks" in p:
            i = p["infer_tasks"]
            rows.append(
                {
                    "benchmark": "a model's validation fold + test set through kfp.local: 1 task vs 2",
                    "ours": f"{i['after_kfp_s']:.1f} s",
                    "baseline": f"{i['before_kfp_s']:.1f} s (2 tasks)",
                    "baseline/ours": i["before_kfp_s"] / i["after_kfp_s"],
                    "same output": f"{i['per_task_overhead_after_s']:.1f} s start-up per task",
                }
            )
    if "ddp_cpu" in data:
        d = data["ddp_cpu"]
        rows.append(
            {
                "benchmark": f"train, 2 torchrun processes vs 1 ({d['model']}, global batch {d['global_batch']}, "
                f"{d['cpus']} CPUs)",
                "ours": f"{d['two_processes_images_per_s']:.1f} img/s",
                "baseline": f"{d['one_process_images_per_s']:.1f} img/s",
                "baseline/ours": 1 / d["two_over_one"],
                "same output": "within 0.2% (tests)",
            }
        )
    if "recipe" in data:
        r = data["recipe"]["candidates"]
        old, new = r[next(iter(r))], r[next(k for k in r if k.startswith("new preset ("))]
        rows.append(
            {
                "benchmark": "tiny recipe, sample data: best val mIoU",
                "ours": f"{new['best_val_miou']:.3f}",
                "baseline": f"{old['best_val_miou']:.3f} (old recipe)",
                "baseline/ours": old["best_val_miou"] / new["best_val_miou"],
                "same output": "n/a",
            }
        )
    if "taco_cv" in data:
        t = data["taco_cv"]
        rows.append(
            {
                "benchmark": f"taco-trash11 {t['setup']['folds']}-fold CV mIoU ({t['setup']['preset']})",
                "ours": f"{t['pooled_miou']:.3f}",
                "baseline": f"{t['background_everywhere_miou']:.3f} (all Background)",
                "baseline/ours": t["background_everywhere_miou"] / t["pooled_miou"],
                "same output": "n/a",
            }
        )
    for preset, entry in data.get("serve", {}).get("presets", {}).items():
        rows.append(
            {
                "benchmark": f"serve, {preset} at {entry['image_size']} px, direct: ONNX Runtime vs torch eager",
                "ours": f"{1000 * entry['direct']['onnxruntime']['p50_s']:.0f} ms",
                "baseline": f"{1000 * entry['direct']['torch']['p50_s']:.0f} ms",
                "baseline/ours": entry["direct_onnx_speedup"],
                "same output": f"export agreement {100 * entry['export_check']['label_agreement']:.2f}%",
            }
        )
    machine = data.get("machine", {})
    head = (
        f"Benchmarks, {machine.get('date')} on {machine.get('cpus')} CPUs ({machine.get('platform')}), commit "
        f"{machine.get('commit')}\n\n"
    )
    return head + markdown_table(rows, ["benchmark", "ours", "baseline", "baseline/ours", "same output"])


if __name__ == "__main__":
    sys.exit(main())
