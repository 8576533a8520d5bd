"""Everything the viewer computes, as plain functions (tested without Streamlit).

Predictions can be an artifact directory or a submission CSV; a CSV is decoded at
its own size (256x256) and compared to masks resized with nearest neighbour,
never interpolating class ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trashseg.components.common.metrics import confusion_matrix, iou_per_class, mean_iou
from trashseg.data_contracts.classes import ClassTable
from trashseg.data_contracts.dataset import Dataset
from trashseg.data_contracts.predictions import Predictions
from trashseg.data_contracts.submission import read_submission


class PredictionSource:
    """Label maps by file name, from a predictions artifact or a submission CSV."""

    def __init__(self, path: Path, classes: ClassTable):
        self.path = Path(path)
        self.name = self.path.name
        self._artifact: Predictions | None = None
        self._csv: dict[str, np.ndarray] | None = None
        if self.path.is_file() and self.path.suffix.lower() == ".csv":
            self._csv = dict(read_submission(self.path, None, classes.num_classes))
        else:
            self._artifact = Predictions(self.path)
            self._ids = {str(r.file_name): int(r.image_id) for r in self._artifact.images.itertuples(index=False)}

    def file_names(self) -> list[str]:
        return list(self._csv) if self._csv is not None else list(self._ids)

    def labels(self, file_name: str) -> np.ndarray | None:
        if self._csv is not None:
            return self._csv.get(file_name)
        image_id = self._ids.get(file_name)
        return None if image_id is None else self._artifact.labels(image_id)


def fit(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bring a label map to ``shape`` with nearest neighbour (a 256x256 CSV next to a 512x512 image)."""
    if labels.shape == shape:
        return labels
    rows = np.minimum((np.arange(shape[0]) * labels.shape[0]) // shape[0], labels.shape[0] - 1)
    cols = np.minimum((np.arange(shape[1]) * labels.shape[1]) // shape[1], labels.shape[1] - 1)
    return labels[rows[:, None], cols[None, :]]


def overlay(image: np.ndarray, labels: np.ndarray, palette: np.ndarray, opacity: float) -> np.ndarray:
    """Blend class colours over the image; Background (0) stays the photo."""
    labels = fit(labels, image.shape[:2])
    colours = palette[labels].astype(np.float32)
    alpha = np.where(labels[..., None] == 0, 0.0, opacity).astype(np.float32)
    return (image.astype(np.float32) * (1 - alpha) + colours * alpha).astype(np.uint8)


def difference(first: np.ndarray, second: np.ndarray, image: np.ndarray) -> np.ndarray:
    """The image dimmed, with pixels where two predictions disagree in red."""
    a, b = fit(first, image.shape[:2]), fit(second, image.shape[:2])
    out = (image.astype(np.float32) * 0.35).astype(np.uint8)
    out[a != b] = (255, 40, 40)
    return out


def pixel_shares(labels: np.ndarray, classes: ClassTable) -> pd.DataFrame:
    counts = np.bincount(labels.ravel(), minlength=256)[: classes.num_classes]
    return pd.DataFrame({"class": classes.names, "pixels": counts, "share": counts / max(counts.sum(), 1)})


@dataclass
class ImageScore:
    file_name: str
    image_id: int
    miou: float | None
    classes_present: tuple[int, ...]


def score_images(dataset: Dataset, source: PredictionSource) -> list[ImageScore]:
    """Per-image mIoU (None without ground truth) and the classes in truth or prediction."""
    scores = []
    names = set(source.file_names())
    for record in dataset.images.itertuples(index=False):
        if record.file_name not in names:
            continue
        predicted = source.labels(record.file_name)
        present = set(np.unique(predicted).tolist())
        miou = None
        if dataset.labeled:
            truth = dataset.mask(record.image_id)
            truth = fit(truth, predicted.shape) if truth.shape != predicted.shape else truth
            present |= set(np.unique(truth[truth != 255]).tolist())
            miou = mean_iou(confusion_matrix(truth, predicted, dataset.classes.num_classes))
        scores.append(
            ImageScore(str(record.file_name), int(record.image_id), miou, tuple(sorted(int(c) for c in present)))
        )
    return scores


def select(scores: list[ImageScore], sort: str, class_id: int | None) -> list[ImageScore]:
    """Filter by a class present, then sort: 'worst' (lowest mIoU first), 'best', or 'id'."""
    chosen = [s for s in scores if class_id is None or class_id in s.classes_present]
    if sort == "id":
        return sorted(chosen, key=lambda s: s.image_id)
    missing = float("inf") if sort == "worst" else float("-inf")
    return sorted(chosen, key=lambda s: (missing if s.miou is None else s.miou, s.image_id), reverse=sort == "best")


def dataset_confusion(dataset: Dataset, source: PredictionSource) -> np.ndarray:
    n = dataset.classes.num_classes
    total = np.zeros((n, n), dtype=np.int64)
    names = set(source.file_names())
    for record in dataset.images.itertuples(index=False):
        if record.file_name in names:
            predicted = source.labels(record.file_name)
            truth = dataset.mask(record.image_id)
            total += confusion_matrix(fit(truth, predicted.shape), predicted, n)
    return total


def per_class_table(cm: np.ndarray, classes: ClassTable) -> pd.DataFrame:
    return pd.DataFrame(
        {"class": classes.names, "IoU": iou_per_class(cm), "true pixels": cm.sum(1), "predicted pixels": cm.sum(0)}
    )


def legend_html(classes: ClassTable) -> str:
    palette = classes.palette_array()
    items = "".join(
        f"<span style='display:inline-block;margin:2px 6px 2px 0'><span "
        "style='display:inline-block;width:12px;height:12px;"
        f"background:rgb({palette[i][0]},{palette[i][1]},{palette[i][2]});border:1px solid #888'></span> {name}</span>"
        for i, name in enumerate(classes.names)
    )
    return f"<div class='trashseg-legend'>{items}</div>"
