"""evaluate: score predictions against a labeled dataset with one dataset-level confusion matrix.

mIoU averages the classes present in the ground truth or the predictions
(classes absent from both are left out); the mean of per-image mIoUs is reported
beside it, as some leaderboards use that.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trashseg.components.common.log import get_logger
from trashseg.components.common.metrics import (
    class_accuracy,
    iou_per_class,
    mean_class_accuracy,
    mean_iou,
    pixel_accuracy,
)
from trashseg.components.common.scoring import check_scorable, per_image_confusions, select_images
from trashseg.components.evaluate.params import EvaluateParams
from trashseg.data_contracts.artifact import Manifest, atomic_directory, prepare_output
from trashseg.data_contracts.dataset import Dataset
from trashseg.data_contracts.metrics import CONTRACT as METRICS_CONTRACT
from trashseg.data_contracts.metrics import write_metrics
from trashseg.data_contracts.predictions import Predictions
from trashseg.data_contracts.split import Split

log = get_logger("trashseg.evaluate")


def run_evaluate(
    predictions_dir: Path,
    dataset_dir: Path,
    out: Path,
    split_dir: Path | None = None,
    params: EvaluateParams | None = None,
    overwrite: bool = False,
) -> Manifest:
    params = params or EvaluateParams()
    params.check(split_given=split_dir is not None)
    fold, subset = params.fold, params.subset
    inputs = [Path(predictions_dir), Path(dataset_dir), *([Path(split_dir)] if split_dir else [])]
    prepare_output(Path(out), overwrite, METRICS_CONTRACT, inputs)
    predictions, dataset = Predictions(predictions_dir), Dataset(dataset_dir)
    check_scorable(predictions, dataset)
    ids, set_size = select_images(predictions, dataset, Split(split_dir) if split_dir else None, fold, subset)
    if len(ids) < set_size:
        log.warning("scoring a subset: %d of %d images have predictions (--subset)", len(ids), set_size)
    confusions = per_image_confusions(predictions, dataset, ids, "evaluate")
    total = confusions.sum(0)
    per_image = [
        {
            "image_id": image_id,
            "file_name": str(dataset.record(image_id)["file_name"]),
            "miou": mean_iou(cm),
            "pixel_accuracy": pixel_accuracy(cm),
        }
        for image_id, cm in zip(ids, confusions)
    ]
    iou, accuracy = iou_per_class(total), class_accuracy(total)
    per_class = pd.DataFrame(
        {
            "class_id": np.arange(dataset.classes.num_classes),
            "class_name": list(dataset.classes.names),
            "iou": iou,
            "accuracy": accuracy,
            "true_pixels": total.sum(1),
            "predicted_pixels": total.sum(0),
        }
    )
    per_image_df = pd.DataFrame(per_image)
    summary = {
        "miou": mean_iou(total),
        "mean_image_miou": float(np.nanmean(per_image_df["miou"])),
        "pixel_accuracy": pixel_accuracy(total),
        "mean_class_accuracy": mean_class_accuracy(total),
        "per_class_iou": dict(zip(dataset.classes.names, map(float, iou))),
        "images": len(ids),
        "images_in_set": set_size,
        "subset": len(ids) < set_size,
    }
    producer = {"stage": "evaluate", "params": {"fold": fold, "split": str(split_dir) if split_dir else None}}
    extra = {"predictions_hash": predictions.content_hash, "dataset_hash": dataset.content_hash}
    with atomic_directory(Path(out), overwrite, METRICS_CONTRACT, inputs) as tmp:
        manifest = write_metrics(tmp, summary, per_class, per_image_df, total, producer, extra)
    log.info(
        "mIoU %.4f over %d%s images (pixel accuracy %.4f); per class: %s",
        summary["miou"],
        len(ids),
        f" of {set_size}" if summary["subset"] else "",
        summary["pixel_accuracy"],
        ", ".join(f"{name} {v:.3f}" for name, v in zip(dataset.classes.names, iou) if not np.isnan(v)),
    )
    return manifest
