"""ingest -> split -> train -> infer -> evaluate -> submit on a slice of the real TACO data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.reference import sklearn_miou
from trashseg.components.evaluate.logic import EvaluateParams, run_evaluate
from trashseg.components.infer.logic import InferParams, run_infer
from trashseg.components.ingest.logic import run_ingest
from trashseg.components.split.logic import SplitParams, run_split
from trashseg.components.submit.logic import run_decode, run_submit
from trashseg.components.train.logic import TrainParams, run_train
from trashseg.data_contracts.dataset import validate_dataset
from trashseg.data_contracts.metrics import read_metrics
from trashseg.data_contracts.model import ModelArtifact
from trashseg.data_contracts.predictions import validate_predictions
from trashseg.data_contracts.split import read_split
from trashseg.data_contracts.submission import read_submission


@pytest.mark.slow
def test_real_data_slice_through_every_stage(taco_dir, tmp_path):
    coco = json.loads((taco_dir / "annotations.json").read_text())
    images = coco["images"][:16]
    keep = {image["id"] for image in images}
    coco["images"] = images
    coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] in keep]
    (tmp_path / "slice.json").write_text(json.dumps(coco))

    run_ingest(tmp_path / "slice.json", taco_dir / "images", tmp_path / "dataset")
    run_split(tmp_path / "dataset", tmp_path / "split", SplitParams(folds=2))
    run_train(
        [tmp_path / "dataset"],
        tmp_path / "split",
        tmp_path / "model",
        TrainParams(preset="upernet-convnext-tiny", fold=1, epochs=2, image_size=64, batch_size=4),
    )
    run_infer(tmp_path / "model", tmp_path / "dataset", tmp_path / "pred", InferParams(save_probs=True))
    run_evaluate(
        tmp_path / "pred", tmp_path / "dataset", tmp_path / "metrics", tmp_path / "split", EvaluateParams(fold=1)
    )
    rows = run_submit(tmp_path / "pred", tmp_path / "submission.csv")

    dataset = validate_dataset(tmp_path / "dataset")
    split = read_split(tmp_path / "split")
    model = ModelArtifact(tmp_path / "model")
    predictions = validate_predictions(tmp_path / "pred")
    metrics = read_metrics(tmp_path / "metrics")
    assert len(dataset.image_ids) == 16 and split.num_folds == 2 and model.preset == "upernet-convnext-tiny"
    assert predictions.image_ids == dataset.image_ids
    assert predictions.labels(dataset.image_ids[0]).shape == (512, 512)
    fold1 = sum(1 for f in split.fold_of().values() if f == 1)
    fold1_ids = [i for i, f in split.fold_of().items() if f == 1]
    assert metrics.summary["images"] == fold1
    assert metrics.miou == pytest.approx(sklearn_miou(tmp_path / "pred", tmp_path / "dataset", fold1_ids), abs=1e-9)
    assert metrics.confusion.sum() == fold1 * 512 * 512
    submitted = list(read_submission(tmp_path / "submission.csv", 256, 11))
    assert rows == 16 and [name for name, _ in submitted] == list(dataset.images["file_name"])
    first = predictions.labels(dataset.image_ids[0])
    assert np.array_equal(submitted[0][1], first[::2, ::2])  # nearest from 512: every other pixel
    run_decode(tmp_path / "submission.csv", tmp_path / "decoded", dataset_dir=tmp_path / "dataset")
    assert validate_predictions(tmp_path / "decoded").image_ids == dataset.image_ids
