"""Scoring predictions against a labeled dataset: which images, and each image's confusion matrix.

Why here: evaluate, compare and the CV summary all score predictions; the rules
(every image of the set needs a prediction, a prediction of an image the set
lacks is an error, sizes must match, class lists must agree) used to be written
in evaluate and copied into the CV summary without its checks. Stages may not
import each other, so the one copy lives in common.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from trashseg.components.common.log import progress
from trashseg.components.common.metrics import confusion_matrix
from trashseg.data_contracts.dataset import Dataset
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.predictions import Predictions
from trashseg.data_contracts.split import Split


def check_scorable(predictions: Predictions, dataset: Dataset) -> None:
    """The dataset has ground truth and the predictions use its class list."""
    if not dataset.labeled:
        raise ContractError(dataset.path, "has no ground truth (unlabeled dataset)")
    if predictions.classes.names != dataset.classes.names:
        raise ContractError(predictions.path, "class list differs from the dataset's", field="classes")


def select_images(
    predictions: Predictions,
    dataset: Dataset,
    split: Split | None = None,
    fold: int | None = None,
    subset: bool = False,
) -> tuple[list[int], int]:
    """(ids to score, size of the set asked for): the whole dataset, or the fold's validation images.

    Every image of that set needs a prediction, or the score would silently cover
    fewer images than the user thinks; ``subset`` scores the predicted ones and says so.
    """
    known = set(dataset.image_ids)
    for image_id in predictions.image_ids:
        if image_id not in known:
            raise ContractError(
                predictions.path, f"image {image_id} is not in dataset {dataset.path}", record=f"image {image_id}"
            )
    wanted = (
        dataset.image_ids
        if split is None
        else split.partition(dataset.content_hash, dataset.path, dataset.image_ids, fold)[1]
    )
    predicted = set(predictions.image_ids)
    missing = [i for i in wanted if i not in predicted]
    if missing and not subset:
        raise ContractError(
            predictions.path,
            f"has no prediction for image {missing[0]} of {dataset.path} ({len(missing)} of "
            f"{len(wanted)} images missing); pass --subset to score only the predicted ones",
            record=f"image {missing[0]}",
        )
    ids = [i for i in wanted if i in predicted]
    if not ids:
        raise ContractError(predictions.path, "no predicted image to evaluate (check --split/--fold)")
    return ids, len(wanted)


def per_image_confusions(
    predictions: Predictions, dataset: Dataset, ids: Iterable[int], label: str | None = None
) -> np.ndarray:
    """(images, C, C) pixel confusion matrices in ``ids`` order; a size mismatch is an error naming the image.
    ``label``: show a progress bar with this name."""
    ids = list(ids)
    n = dataset.classes.num_classes
    stacked = np.zeros((len(ids), n, n), dtype=np.int64)
    for row, image_id in enumerate(progress(ids, label) if label else ids):
        truth, predicted = dataset.mask(image_id), predictions.labels(image_id)
        if truth.shape != predicted.shape:
            raise ContractError(
                predictions.path,
                f"prediction {predicted.shape} and ground truth {truth.shape} differ in size",
                record=f"image {image_id}",
            )
        stacked[row] = confusion_matrix(truth, predicted, n)
    return stacked
