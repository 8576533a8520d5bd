"""Independent references for the tests: metrics recomputed with scikit-learn, versions read from the pins."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def sklearn_miou(predictions_dir: Path, dataset_dir: Path, image_ids: list[int] | None = None) -> float:
    """Dataset-level mIoU by scikit-learn's confusion matrix: classes present in truth or prediction, 255 ignored."""
    from sklearn.metrics import confusion_matrix

    from trashseg.data_contracts.dataset import Dataset
    from trashseg.data_contracts.predictions import Predictions

    dataset, predictions = Dataset(dataset_dir), Predictions(predictions_dir)
    ids = image_ids if image_ids is not None else predictions.image_ids
    truth = np.concatenate([dataset.mask(i).ravel() for i in ids])
    predicted = np.concatenate([predictions.labels(i).ravel() for i in ids])
    keep = truth != 255
    cm = confusion_matrix(truth[keep], predicted[keep], labels=list(range(dataset.classes.num_classes)))
    intersection = np.diag(cm).astype(float)
    union = cm.sum(0) + cm.sum(1) - np.diag(cm)
    present = union > 0
    return float((intersection[present] / union[present]).mean())


def pinned_version(package: str) -> str:
    """The version requirements/constraints.txt pins for ``package``."""
    text = (REPO / "requirements" / "constraints.txt").read_text()
    match = re.search(rf"^{re.escape(package)}==(\S+)$", text, flags=re.MULTILINE | re.IGNORECASE)
    assert match, f"{package} is not pinned in requirements/constraints.txt"
    return match[1]


def write_predictions(path: Path, images: list, with_probs: bool = False, classes=None) -> Path:
    """A predictions artifact of given label maps ((image_id, file_name, labels) each); probabilities one-hot."""
    from trashseg.data_contracts.artifact import atomic_directory
    from trashseg.data_contracts.classes import ClassTable
    from trashseg.data_contracts.predictions import PredictionsWriter

    classes = classes or ClassTable()
    with atomic_directory(path) as tmp:
        writer = PredictionsWriter(tmp, classes, with_probs)
        for image_id, name, labels in images:
            probs = np.eye(classes.num_classes, dtype=np.float32)[labels].transpose(2, 0, 1) if with_probs else None
            writer.add(image_id, name, labels, probs)
        writer.finish({"stage": "test", "params": {}}, {"source": "test"})
    return path
