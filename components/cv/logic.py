"""Cross-validation summary: per-fold mIoU, their mean and spread, per-class IoU averaged over folds, and, when the
test set has labels, each fold model's test mIoU and its validation-versus-test gap (the report's experiment 1: a
fold's validation score overstated the leaderboard by 0.026-0.075)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trashseg.components.common.html import page, table
from trashseg.components.common.metrics import mean_iou
from trashseg.components.common.scoring import check_scorable, per_image_confusions, select_images
from trashseg.data_contracts.dataset import Dataset
from trashseg.data_contracts.errors import ParameterError
from trashseg.data_contracts.metrics import Metrics
from trashseg.data_contracts.predictions import Predictions


def mious_on_test(test_dataset_dir: Path, prediction_dirs: list[Path]) -> list[float] | None:
    """Each fold model's mIoU on the whole test set, or None when the test set has no labels (a competition's)."""
    dataset = Dataset(test_dataset_dir)
    if not dataset.labeled:
        return None
    mious = []
    for directory in prediction_dirs:
        predictions = Predictions(directory)
        check_scorable(predictions, dataset)
        ids, _ = select_images(predictions, dataset)  # every test image, and none the test set lacks
        mious.append(mean_iou(per_image_confusions(predictions, dataset, ids).sum(0)))
    return mious


def cv_summary(metrics_dirs: list[Path], fold_test_mious: list[float] | None = None) -> tuple[dict[str, float], str]:
    """Summary figures and an HTML page; ``fold_test_mious`` (same fold order) adds the validation-versus-test gap."""
    results = [Metrics(p) for p in metrics_dirs]
    mious = np.array([r.miou for r in results])
    summary = {
        "cv_miou_mean": float(mious.mean()),
        "cv_miou_std": float(mious.std(ddof=1)) if len(mious) > 1 else 0.0,
        "cv_miou_min": float(mious.min()),
        "cv_miou_max": float(mious.max()),
        "folds": len(results),
    }
    per_fold = pd.DataFrame(
        {"fold": range(len(results)), "miou": mious, "images": [r.summary["images"] for r in results]}
    )
    if fold_test_mious is not None:
        if len(fold_test_mious) != len(results):
            raise ParameterError(
                "test_predictions", f"{len(fold_test_mious)} test predictions for {len(results)} folds"
            )
        test = np.array(fold_test_mious)
        gaps = mious - test
        per_fold["test_miou"], per_fold["val_minus_test"] = test, gaps
        summary.update(
            cv_test_miou_mean=float(test.mean()),
            cv_gap_mean=float(gaps.mean()),
            cv_gap_min=float(gaps.min()),
            cv_gap_max=float(gaps.max()),
        )
    per_class = pd.concat(
        [r.per_class.set_index("class_name")["iou"].rename(f"fold {k}") for k, r in enumerate(results)], axis=1
    )
    per_class["mean"] = per_class.mean(axis=1)
    html = page(
        f"Cross-validation: mIoU {summary['cv_miou_mean']:.4f} +/- {summary['cv_miou_std']:.4f}",
        table(per_fold) + "<h2>per-class IoU</h2>" + table(per_class.reset_index()),
    )
    return summary, html
