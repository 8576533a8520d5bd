"""evaluate: score predictions against a labeled dataset with one dataset-level confusion matrix.

mIoU averages the classes present in the ground truth or the predictions
(classes absent from both are left out); the mean of per-image mIoUs is reported
beside it, as some leaderboards use that.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from components.common.log import get_logger, progress
from components.common.metrics import (class_accuracy, confusion_matrix, iou_per_class, mean_class_accuracy, mean_iou,
                                       pixel_accuracy)
from data_contracts.artifact import Manifest, atomic_directory, prepare_output
from data_contracts.dataset import Dataset
from data_contracts.errors import ContractError
from data_contracts.metrics import write_metrics
from data_contracts.predictions import Predictions
from data_contracts.split import Split

log = get_logger("trashseg.evaluate")


def select_images(predictions: Predictions, dataset: Dataset, split: Split | None, fold: int | None) -> list[int]:
    ids = predictions.image_ids
    if split is not None:
        split.check_dataset(dataset.content_hash, dataset.path)
        if fold is None:
            raise ContractError("--fold", "a split needs a fold to evaluate on", field="fold")
        split.check_fold(fold)
        fold_of = split.fold_of()
        ids = [i for i in ids if fold_of.get(i) == fold]
    known = set(dataset.image_ids)
    for image_id in ids:
        if image_id not in known:
            raise ContractError(predictions.path, f"image {image_id} is not in dataset {dataset.path}", record=f"image {image_id}")
    if not ids:
        raise ContractError(predictions.path, "no predicted image to evaluate (check --split/--fold)")
    return ids


def run_evaluate(predictions_dir: Path, dataset_dir: Path, out: Path, split_dir: Path | None = None, fold: int | None = None,
                 overwrite: bool = False) -> Manifest:
    prepare_output(Path(out), overwrite)
    predictions, dataset = Predictions(predictions_dir), Dataset(dataset_dir)
    if not dataset.labeled:
        raise ContractError(dataset_dir, "has no ground truth (unlabeled dataset)")
    if predictions.classes.names != dataset.classes.names:
        raise ContractError(predictions_dir, "class list differs from the dataset's", field="classes")
    ids = select_images(predictions, dataset, Split(split_dir) if split_dir else None, fold)
    n = dataset.classes.num_classes
    total = np.zeros((n, n), dtype=np.int64)
    per_image = []
    for image_id in progress(ids, "evaluate"):
        truth, predicted = dataset.mask(image_id), predictions.labels(image_id)
        if truth.shape != predicted.shape:
            raise ContractError(predictions_dir, f"prediction {predicted.shape} and ground truth {truth.shape} differ in size",
                                record=f"image {image_id}")
        cm = confusion_matrix(truth, predicted, n)
        total += cm
        per_image.append({"image_id": image_id, "file_name": str(dataset.record(image_id)["file_name"]),
                          "miou": mean_iou(cm), "pixel_accuracy": pixel_accuracy(cm)})
    iou, accuracy = iou_per_class(total), class_accuracy(total)
    per_class = pd.DataFrame({"class_id": np.arange(n), "class_name": list(dataset.classes.names), "iou": iou, "accuracy": accuracy,
                              "true_pixels": total.sum(1), "predicted_pixels": total.sum(0)})
    per_image_df = pd.DataFrame(per_image)
    summary = {
        "miou": mean_iou(total), "mean_image_miou": float(np.nanmean(per_image_df["miou"])),
        "pixel_accuracy": pixel_accuracy(total), "mean_class_accuracy": mean_class_accuracy(total),
        "per_class_iou": dict(zip(dataset.classes.names, map(float, iou))), "images": len(ids),
    }
    producer = {"stage": "evaluate", "params": {"fold": fold, "split": str(split_dir) if split_dir else None}}
    extra = {"predictions_hash": predictions.content_hash, "dataset_hash": dataset.content_hash}
    with atomic_directory(Path(out), overwrite) as tmp:
        manifest = write_metrics(tmp, summary, per_class, per_image_df, total, producer, extra)
    log.info("mIoU %.4f over %d images (pixel accuracy %.4f); per class: %s", summary["miou"], len(ids), summary["pixel_accuracy"],
             ", ".join(f"{name} {v:.3f}" for name, v in zip(dataset.classes.names, iou) if not np.isnan(v)))
    return manifest
