"""Segmentation metrics as explicit functions: counts first (confusion matrix), then named reductions.

Imported by train (validation), evaluate, ensemble and the benchmarks, so every
figure in the project means the same thing.
"""

from __future__ import annotations

import numpy as np

from trashseg.data_contracts.classes import IGNORE_INDEX


def confusion_matrix(truth: np.ndarray, prediction: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) int64 pixel counts, rows = true class, columns = predicted; 255 in truth is skipped."""
    truth = np.asarray(truth).ravel()
    prediction = np.asarray(prediction).ravel()
    if truth.shape != prediction.shape:
        raise ValueError(f"truth and prediction differ in size: {truth.shape} vs {prediction.shape}")
    keep = truth != IGNORE_INDEX
    if not keep.all():
        truth, prediction = truth[keep], prediction[keep]
    if prediction.size and int(prediction.max()) >= num_classes:
        raise ValueError(f"prediction has class {int(prediction.max())}, only {num_classes} classes exist")
    index = truth.astype(np.int64) * num_classes + prediction.astype(np.int64)
    return np.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def iou_per_class(cm: np.ndarray) -> np.ndarray:
    """IoU of each class; NaN where the class is in neither truth nor prediction. ``cm`` may be a stack (..., C, C)."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1).astype(np.float64)
    union = cm.sum(-2) + cm.sum(-1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / union, np.nan)


def mean_iou(cm: np.ndarray) -> float:
    """Mean over classes present in truth or prediction (absent classes are left out)."""
    iou = iou_per_class(cm)
    return float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan")


def pixel_accuracy(cm: np.ndarray) -> float:
    total = cm.sum()
    return float(np.trace(cm) / total) if total else float("nan")


def class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Recall of each class; NaN for classes without true pixels."""
    truth = cm.sum(1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(truth > 0, np.diag(cm) / truth, np.nan)


def mean_class_accuracy(cm: np.ndarray) -> float:
    acc = class_accuracy(cm)
    return float(np.nanmean(acc)) if np.isfinite(acc).any() else float("nan")
