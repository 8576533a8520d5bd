"""ensemble: combine predictions that cover the same images (matched by file name, never by row order)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trashseg.components.common.log import get_logger, progress
from trashseg.components.ensemble.params import EnsembleParams
from trashseg.components.ensemble.vote import hard_vote, soft_vote
from trashseg.data_contracts.artifact import Manifest, atomic_directory, prepare_output
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.predictions import CONTRACT as PREDICTIONS_CONTRACT
from trashseg.data_contracts.predictions import Predictions, PredictionsWriter

log = get_logger("trashseg.ensemble")


def weight_array(weights: tuple[float, ...] | None, count: int) -> np.ndarray:
    """The vote's weights: integers where every weight is whole (exact counts, no float ties), else floats."""
    if weights is None:
        return np.ones(count, dtype=np.int64)
    array = np.asarray(weights, dtype=np.float64)
    return array.astype(np.int64) if np.all(array == np.round(array)) else array


def check_alignment(inputs: list[Predictions]) -> dict[str, list[int]]:
    """file_name -> the image id in each input; every mismatch is an error naming the image."""
    first = inputs[0]
    names = list(first.images["file_name"])
    ids: dict[str, list[int]] = {name: [] for name in names}
    ref = {str(r.file_name): r for r in first.images.itertuples(index=False)}
    for pred in inputs:
        if pred.classes.names != first.classes.names:
            raise ContractError(
                pred.path, f"class list {list(pred.classes.names)} differs from {first.path}'s", field="classes"
            )
        rows = {str(r.file_name): r for r in pred.images.itertuples(index=False)}
        for name in names:
            if name not in rows:
                raise ContractError(
                    pred.path,
                    f"has no prediction for image {name!r} (present in {first.path})",
                    record=f"image {name!r}",
                )
        extra = sorted(set(rows) - set(names))
        if extra:
            raise ContractError(
                pred.path, f"predicts image {extra[0]!r}, which {first.path} lacks", record=f"image {extra[0]!r}"
            )
        for name in names:
            row = rows[name]
            if (row.width, row.height) != (ref[name].width, ref[name].height):
                raise ContractError(
                    pred.path,
                    f"size {row.width}x{row.height} differs from {ref[name].width}x{ref[name].height} in {first.path}",
                    record=f"image {name!r}",
                )
            ids[name].append(int(row.image_id))
    return ids


def run_ensemble(
    prediction_dirs: list[Path], out: Path, params: EnsembleParams | None = None, overwrite: bool = False
) -> Manifest:
    params = params or EnsembleParams()
    params.check(len(prediction_dirs))
    method, w = params.vote, weight_array(params.weights, len(prediction_dirs))
    prepare_output(Path(out), overwrite, PREDICTIONS_CONTRACT, prediction_dirs)
    inputs = [Predictions(p) for p in prediction_dirs]
    if method == "soft":
        for pred in inputs:
            if not pred.has_probs:
                raise ContractError(
                    pred.path, "soft voting needs probabilities (infer with --save-probs)", field="probs"
                )
    ids = check_alignment(inputs)
    first = inputs[0]
    log.info("%s vote of %d predictions over %d images, weights %s", method, len(inputs), len(ids), w.tolist())
    with atomic_directory(Path(out), overwrite, PREDICTIONS_CONTRACT, prediction_dirs) as tmp:
        writer = PredictionsWriter(tmp, first.classes, with_probs=method == "soft")
        for name, per_input in progress(list(ids.items()), "ensemble"):
            if method == "hard":
                stacked = np.stack([pred.labels(i) for pred, i in zip(inputs, per_input)])
                writer.add(per_input[0], name, hard_vote(stacked, w))
            else:
                probs = soft_vote([pred.probs(i) for pred, i in zip(inputs, per_input)], w)
                writer.add(per_input[0], name, probs.argmax(0).astype(np.uint8), probs)
        producer = {"stage": "ensemble", "params": {"method": method, "weights": w.tolist()}}
        manifest = writer.finish(
            producer,
            {
                "source": "ensemble",
                "members": [p.content_hash for p in inputs],
                "tie_rule": "earliest-listed model wins" if method == "hard" else "lowest class id",
            },
        )
    log.info("wrote ensemble %s", out)
    return manifest
