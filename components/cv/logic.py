"""Cross-validation summary: per-fold mIoU, their mean and spread, per-class IoU averaged over folds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from components.common.html import page, table
from data_contracts.metrics import Metrics


def cv_summary(metrics_dirs: list[Path]) -> tuple[dict[str, float], str]:
    results = [Metrics(p) for p in metrics_dirs]
    mious = np.array([r.miou for r in results])
    summary = {"cv_miou_mean": float(mious.mean()), "cv_miou_std": float(mious.std(ddof=1)) if len(mious) > 1 else 0.0,
               "cv_miou_min": float(mious.min()), "cv_miou_max": float(mious.max()), "folds": len(results)}
    per_fold = pd.DataFrame({"fold": range(len(results)), "miou": mious, "images": [r.summary["images"] for r in results]})
    per_class = pd.concat([r.per_class.set_index("class_name")["iou"].rename(f"fold {k}") for k, r in enumerate(results)], axis=1)
    per_class["mean"] = per_class.mean(axis=1)
    html = page(f"Cross-validation: mIoU {summary['cv_miou_mean']:.4f} +/- {summary['cv_miou_std']:.4f}",
                table(per_fold) + "<h2>per-class IoU</h2>" + table(per_class.reset_index()))
    return summary, html
