"""The CV summary's validation-versus-test gap (the report's experiment 1), against scikit-learn's mIoU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.reference import sklearn_miou
from trashseg.components.cv.logic import cv_summary, mious_on_test
from trashseg.components.evaluate.logic import run_evaluate
from trashseg.components.ingest.logic import run_ingest
from trashseg.data_contracts.dataset import Dataset
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.metrics import Metrics
from trashseg.data_contracts.predictions import PredictionsWriter


def _predictions(out: Path, dataset: Dataset, label_of) -> Path:
    out.mkdir()
    writer = PredictionsWriter(out, dataset.classes, with_probs=False)
    for image_id in dataset.image_ids:
        writer.add(
            image_id, str(dataset.record(image_id)["file_name"]), label_of(dataset.mask(image_id)).astype(np.uint8)
        )
    writer.finish({"stage": "test"})
    return out


@pytest.fixture(scope="module")
def labeled_test(sample_root, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cv")
    run_ingest(sample_root / "test_truth" / "annotations.json", sample_root / "test" / "images", root / "truth")
    run_ingest(sample_root / "test" / "annotations.json", sample_root / "test" / "images", root / "unlabeled")
    return root / "truth", root / "unlabeled"


def test_labeled_test_set_gives_each_folds_gap(labeled_test, tmp_path):
    truth_dir, _ = labeled_test
    truth = Dataset(truth_dir)
    perfect = _predictions(tmp_path / "perfect", truth, lambda mask: mask)
    shifted = _predictions(tmp_path / "shifted", truth, lambda mask: np.roll(mask, 7, axis=1))  # wrong near every edge
    scores = mious_on_test(truth_dir, [perfect, shifted])
    assert scores == pytest.approx([1.0, sklearn_miou(shifted, truth_dir)], abs=1e-12)
    assert scores[1] < 0.95
    # the folds' "validation" metrics: here the two predictions scored on the same set, so each gap is known by hand
    metrics = [
        run_evaluate(p, truth_dir, tmp_path / f"m{k}") and tmp_path / f"m{k}" for k, p in enumerate([shifted, perfect])
    ]
    summary, html = cv_summary(metrics, scores)
    validation = [Metrics(m).miou for m in metrics]
    assert summary["cv_test_miou_mean"] == pytest.approx(np.mean(scores))
    assert summary["cv_gap_mean"] == pytest.approx(np.mean(np.array(validation) - np.array(scores)))
    assert summary["cv_gap_min"] == pytest.approx(validation[0] - 1.0) and "val_minus_test" in html
    with pytest.raises(ContractError, match="1 test predictions for 2 folds"):
        cv_summary(metrics, scores[:1])


def test_unlabeled_test_set_reports_no_gap(labeled_test, tmp_path):
    truth_dir, unlabeled_dir = labeled_test
    assert mious_on_test(unlabeled_dir, []) is None
    metrics = (
        run_evaluate(_predictions(tmp_path / "p", Dataset(truth_dir), lambda m: m), truth_dir, tmp_path / "m")
        and tmp_path / "m"
    )
    summary, _ = cv_summary([metrics], None)
    assert summary["cv_miou_mean"] == pytest.approx(1.0) and "cv_gap_mean" not in summary


def test_a_fold_missing_a_test_image_is_refused(labeled_test, tmp_path):
    truth_dir, _ = labeled_test
    truth = Dataset(truth_dir)
    (tmp_path / "partial").mkdir()
    writer = PredictionsWriter(tmp_path / "partial", truth.classes, with_probs=False)
    first = truth.image_ids[0]
    writer.add(first, "x.jpg", truth.mask(first).astype(np.uint8))
    writer.finish({"stage": "test"})
    with pytest.raises(ContractError, match=f"no prediction for image {truth.image_ids[1]} of"):
        mious_on_test(truth_dir, [tmp_path / "partial"])


def test_a_fold_prediction_of_another_size_is_refused_naming_the_image(labeled_test, tmp_path):
    """The CV summary scores with evaluate's rules (components.common.scoring), size check included."""
    truth_dir, _ = labeled_test
    truth = Dataset(truth_dir)
    (tmp_path / "resized").mkdir()
    writer = PredictionsWriter(tmp_path / "resized", truth.classes, with_probs=False)
    for image_id in truth.image_ids:
        mask = truth.mask(image_id).astype(np.uint8)
        writer.add(
            image_id, str(truth.record(image_id)["file_name"]), mask[:-1] if image_id == truth.image_ids[-1] else mask
        )
    writer.finish({"stage": "test"})
    with pytest.raises(ContractError, match="differ in size") as caught:
        mious_on_test(truth_dir, [tmp_path / "resized"])
    assert caught.value.record == f"image {truth.image_ids[-1]}"
