"""Your own data, as the competition gives it (a folder made from taco-trash11 by the ``competition_dir`` fixture):
batch folders, train_all/train/val/test JSONs, a header-only sample submission. Through the CLI chain, and through the
main pipeline run locally on the official validation split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trashseg.components.cli import main as trashseg
from trashseg.data_contracts.submission import read_submission


def _test_names(folder: Path) -> list[str]:
    return [image["file_name"] for image in json.loads((folder / "test.json").read_text())["images"]]


def _check_submission(csv: Path, folder: Path) -> None:
    rows = list(read_submission(csv, 256, 11))
    assert [name for name, _ in rows] == _test_names(folder)  # test.json's order: the template is only a header
    assert all(labels.shape == (256, 256) and labels.max() <= 10 for _, labels in rows)  # 65,536 values in 0..10
    assert csv.read_text().count("\n") == len(rows) + 1


def test_the_cli_chain_on_the_competition_folder(competition_dir, tmp_path):
    """ingest (images root = the folder), split on val.json, train and infer fold 0, submit with the template."""
    d, w = competition_dir, tmp_path
    steps = [
        ["ingest", "--coco", str(d / "train_all.json"), "--images", str(d), "--out", str(w / "train")],
        ["ingest", "--coco", str(d / "test.json"), "--images", str(d), "--out", str(w / "test")],
        ["split", "--dataset", str(w / "train"), "--validation-coco", str(d / "val.json"), "--out", str(w / "split")],
        [
            "train",
            "--dataset",
            str(w / "train"),
            "--split",
            str(w / "split"),
            "--fold",
            "0",
            "--preset",
            "upernet-convnext-tiny",
            "--epochs",
            "1",
            "--max-steps-per-epoch",
            "2",
            "--device",
            "cpu",
            "--out",
            str(w / "model"),
        ],
        ["infer", "--model", str(w / "model"), "--dataset", str(w / "test"), "--no-tta-flip", "--out", str(w / "pred")],
        [
            "submit",
            "--predictions",
            str(w / "pred"),
            "--template",
            str(d / "sample_submission.csv"),
            "--out",
            str(w / "submission.csv"),
        ],
    ]
    for argv in steps:
        assert trashseg(argv) == 0, argv
    from trashseg.data_contracts.dataset import Dataset
    from trashseg.data_contracts.split import Split

    train = Dataset(w / "train")
    validation = Split(w / "split").partition(train.content_hash, train.path, train.image_ids, 0)[1]
    val_names = {image["file_name"] for image in json.loads((d / "val.json").read_text())["images"]}
    names = dict(zip(train.images["image_id"], train.images["file_name"]))
    assert {names[i] for i in validation} == val_names  # the official validation images, and only them
    _check_submission(w / "submission.csv", d)


@pytest.mark.slow
def test_the_main_pipeline_on_the_competition_folder_validates_on_val_json(competition_dir, tmp_path):
    """`trashseg pipeline run-local --train-data DATA --test-data DATA --param train_annotations=train_all.json ...`"""
    from trashseg.pipelines.run_local import run_local

    params = {
        "train_annotations": "train_all.json",
        "test_annotations": "test.json",
        "images": ".",
        "validation_annotations": "val.json",
        "submission_template": "sample_submission.csv",
        "epochs": 3,
    }
    summary = run_local(
        "trashseg",
        pipeline_root=tmp_path / "root",
        params=params,
        train_data=competition_dir,
        test_data=competition_dir,
    )
    validation_images = len(json.loads((competition_dir / "val.json").read_text())["images"])
    assert summary["metrics"]["images"] == summary["metrics"]["images_in_set"] == validation_images
    submission = Path(summary["outputs"]["submission"])
    assert submission.name == "submission.csv"
    _check_submission(submission, competition_dir)
    print(
        f"\ncompetition layout, tiny preset, 3 epochs: validation mIoU on val.json {summary['metrics']['miou']:.4f} "
        f"({validation_images} images), {summary['seconds']:.0f} s"
    )
    assert np.isfinite(summary["metrics"]["miou"])
