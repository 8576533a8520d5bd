"""infer: TTA parsing, streaming predictions that validate, probabilities that agree with labels."""

from __future__ import annotations

import numpy as np
import pytest

from trashseg.components.infer.logic import InferParams, run_infer
from trashseg.components.models.predict import view_size
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.predictions import validate_predictions


def test_tta_views_and_sizes():
    assert InferParams(tta_flip=False, tta_scales=[0.5, 1]).views() == [(0.5, False), (1, False)]
    assert InferParams().views() == [(1.0, False), (1.0, True)]
    with pytest.raises(ContractError, match="--tta-scales: 5.0 is out of range"):
        InferParams(tta_scales=[1.0, 5.0]).check()
    assert view_size(128, 0.75) == 96 and view_size(128, 1.25) == 160


def test_predictions_cover_every_image_at_its_size(tiny_model, sample_root, tmp_path):
    from trashseg.components.ingest.logic import run_ingest

    run_ingest(sample_root / "test" / "annotations.json", sample_root / "test" / "images", tmp_path / "test")
    run_infer(
        tiny_model,
        tmp_path / "test",
        tmp_path / "pred",
        InferParams(tta_scales=[0.75, 1.0], batch_size=3, save_probs=True),
    )
    predictions = validate_predictions(tmp_path / "pred")
    assert predictions.image_ids == sorted(predictions.image_ids) and len(predictions.image_ids) == 8
    for image_id in predictions.image_ids:
        labels, probs = predictions.labels(image_id), predictions.probs(image_id)
        assert labels.shape == (64, 64) and probs.shape == (11, 64, 64)
        assert np.allclose(probs.sum(0), 1.0, atol=0.03)
        chosen = np.take_along_axis(probs, labels[None].astype(np.int64), 0)[0]
        assert (chosen >= probs.max(0) - 1.5 / 255).all()  # the label is the top class up to uint8 quantisation
    assert predictions.manifest.extra["source"] == "model"


@pytest.mark.slow
def test_batching_does_not_change_predictions(tiny_model, sample_dataset, tmp_path):
    a = run_infer(tiny_model, sample_dataset, tmp_path / "a", InferParams(batch_size=1))
    b = run_infer(tiny_model, sample_dataset, tmp_path / "b", InferParams(batch_size=5))
    pa, pb = validate_predictions(tmp_path / "a"), validate_predictions(tmp_path / "b")
    mismatch = sum(int((pa.labels(i) != pb.labels(i)).sum()) for i in pa.image_ids)
    assert mismatch <= 5  # float summation order only
    assert a.rows == b.rows


def test_one_call_for_two_sets_writes_what_two_calls_write(tiny_model, sample_dataset, sample_split, tmp_path):
    """The pipelines' one infer task per model: the fold and the whole set from one loaded model, the same bytes as
    two separate runs (content hashes), and bad input in the second set refused before the first is written."""
    from trashseg.components.infer.logic import InferJob, run_infer_jobs

    params = InferParams(tta_flip=False, save_probs=True)
    fold_alone = run_infer(tiny_model, sample_dataset, tmp_path / "fold_alone", params, sample_split, 1)
    whole_alone = run_infer(tiny_model, sample_dataset, tmp_path / "whole_alone", params)
    fold_joint, whole_joint = run_infer_jobs(
        tiny_model,
        [InferJob(sample_dataset, tmp_path / "fold", sample_split, 1), InferJob(sample_dataset, tmp_path / "whole")],
        params,
    )
    assert fold_joint.content_hash == fold_alone.content_hash and whole_joint.content_hash == whole_alone.content_hash
    assert fold_joint.rows["images"] < whole_joint.rows["images"]

    with pytest.raises(ContractError, match="fold 9 does not exist"):
        run_infer_jobs(
            tiny_model,
            [
                InferJob(sample_dataset, tmp_path / "first"),
                InferJob(sample_dataset, tmp_path / "second", sample_split, 9),
            ],
            params,
        )
    assert not (tmp_path / "first").exists()
    with pytest.raises(ContractError, match="overlaps"):
        run_infer_jobs(
            tiny_model,
            [InferJob(sample_dataset, tmp_path / "same"), InferJob(sample_dataset, tmp_path / "same")],
            params,
        )
