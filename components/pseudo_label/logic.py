"""pseudo-label: the report's round-2 trick (+0.02 mIoU), with an optional confidence threshold.

The output is a labeled dataset with the unlabeled images' original bytes and
the predicted label maps as masks. With ``min_confidence > 0`` (needs saved
probabilities) pixels whose top probability is below it become 255, which the
losses skip. Train treats every dataset after the first as training-only, so
pseudo-labeled images never enter a validation fold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trashseg.components.common.log import get_logger, progress
from trashseg.components.pseudo_label.params import PseudoLabelParams
from trashseg.data_contracts.artifact import Manifest, atomic_directory, prepare_output
from trashseg.data_contracts.classes import IGNORE_INDEX
from trashseg.data_contracts.dataset import CONTRACT as DATASET_CONTRACT
from trashseg.data_contracts.dataset import Dataset, DatasetWriter, ImageEntry
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.predictions import Predictions

log = get_logger("trashseg.pseudo_label")


def pseudo_mask(labels: np.ndarray, probs: np.ndarray | None, min_confidence: float) -> np.ndarray:
    mask = labels.copy()
    if min_confidence > 0:
        mask[probs.max(axis=0) < min_confidence] = IGNORE_INDEX
    return mask


def run_pseudo_label(
    predictions_dir: Path,
    dataset_dir: Path,
    out: Path,
    params: PseudoLabelParams | None = None,
    overwrite: bool = False,
) -> Manifest:
    params = params or PseudoLabelParams()
    params.check()
    min_confidence, round_number = params.min_confidence, params.round
    inputs = [Path(predictions_dir), Path(dataset_dir)]
    prepare_output(Path(out), overwrite, DATASET_CONTRACT, inputs)
    predictions, dataset = Predictions(predictions_dir), Dataset(dataset_dir)
    if min_confidence > 0 and not predictions.has_probs:
        raise ContractError(
            predictions_dir, "--min-confidence needs probabilities (infer with --save-probs)", field="probs"
        )
    if predictions.classes.names != dataset.classes.names:
        raise ContractError(predictions_dir, "class list differs from the dataset's", field="classes")
    predicted = {int(r.image_id): r for r in predictions.images.itertuples(index=False)}
    for record in dataset.images.itertuples(index=False):
        row = predicted.get(int(record.image_id))
        if row is None or row.file_name != record.file_name:
            raise ContractError(
                predictions_dir,
                f"has no prediction for image {record.image_id} ({record.file_name!r}) of {dataset_dir}",
                record=f"image {record.image_id}",
            )
        if (row.width, row.height) != (record.width, record.height):
            raise ContractError(
                predictions_dir,
                f"prediction is {row.width}x{row.height}, image is {record.width}x{record.height}",
                record=f"image {record.image_id}",
            )
    labeled_by = {
        "predictions_hash": predictions.content_hash,
        "model_hash": predictions.manifest.extra.get("model_hash"),
        "source": predictions.manifest.extra.get("source"),
        "round": round_number,
        "min_confidence": min_confidence,
    }
    ignored = total = 0
    with atomic_directory(Path(out), overwrite, DATASET_CONTRACT, inputs) as tmp:
        writer = DatasetWriter(
            tmp,
            dataset.classes,
            labeled=True,
            producer={"stage": "pseudo-label", "params": {"min_confidence": min_confidence, "round": round_number}},
        )
        for record in progress(list(dataset.images.itertuples(index=False)), "pseudo-label"):
            image_id = int(record.image_id)
            mask = pseudo_mask(
                predictions.labels(image_id),
                predictions.probs(image_id) if min_confidence > 0 else None,
                min_confidence,
            )
            ignored += int((mask == IGNORE_INDEX).sum())
            total += mask.size
            writer.add(
                ImageEntry(
                    image_id,
                    str(record.file_name),
                    int(record.width),
                    int(record.height),
                    dataset.image_bytes(image_id),
                    int(record.orientation),
                    {"pseudo_label": labeled_by},
                    mask,
                )
            )
        manifest = writer.finish(
            extra={"pseudo_label": labeled_by, "training_only": True, "ignored_pixel_share": ignored / max(total, 1)}
        )
    log.info(
        "wrote %d pseudo-labeled images to %s (%.1f%% of pixels ignored)",
        len(dataset.image_ids),
        out,
        100 * ignored / max(total, 1),
    )
    return manifest
