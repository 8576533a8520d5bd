"""submit: the CSV byte-identical to the baseline's encoding, nearest and mode downsampling, malformed CSVs named
by row."""

from __future__ import annotations

import numpy as np
import pytest

from trashseg.components.submit.resize import resize_mode, resize_nearest
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.submission import encode_labels, read_submission


def test_encoding_is_byte_identical_to_the_baseline():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 11, (256, 256)).astype(np.uint8)
    assert encode_labels(labels) == " ".join(str(e) for e in labels.flatten())
    wide = np.array([0, 9, 10, 99, 100, 254], dtype=np.uint8)
    assert encode_labels(wide) == "0 9 10 99 100 254"


@pytest.mark.parametrize("height, width", [(512, 512), (300, 400), (257, 1000), (100, 100), (64, 90)])
def test_nearest_matches_opencv(height, width):
    import cv2

    labels = np.random.default_rng(height * width).integers(0, 11, (height, width)).astype(np.uint8)
    assert np.array_equal(resize_nearest(labels, 256), cv2.resize(labels, (256, 256), interpolation=cv2.INTER_NEAREST))


def test_nearest_picks_the_floor_and_mode_takes_the_majority():
    labels = np.arange(16, dtype=np.uint8).reshape(4, 4)
    assert resize_nearest(labels, 2).tolist() == [[0, 2], [8, 10]]  # floor(i * 2): even rows and columns
    blocks = np.array([[1, 1, 2, 0], [1, 3, 2, 2], [4, 4, 5, 6], [4, 0, 6, 5]], dtype=np.uint8)
    assert resize_mode(blocks, 2, 11).tolist() == [[1, 2], [4, 5]]  # 5 vs 6 tie -> lower id


def _write_csv(path, rows):
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    "rows, message",
    [
        (["image,PredictionString", "a.jpg," + "0 " * 3], r"row 1: header must be image_id,PredictionString"),
        (["image_id,PredictionString", "a.jpg,0 0 0"], r"row 2: field 'PredictionString': 3 values, expected 2x2 = 4"),
        (["image_id,PredictionString", "a.jpg,0 0 0 11"], r"row 2: field 'PredictionString': class 11 outside 0..10"),
        (
            ["image_id,PredictionString", "a.jpg,0 0 x 1"],
            r"row 2: field 'PredictionString': holds something other than integers",
        ),
        (["image_id,PredictionString", "a.jpg,0 0 0 1,extra"], r"row 2: expected 2 columns, got 3"),
        (
            ["image_id,PredictionString", "a.jpg,0 0 0 1", "a.jpg,0 0 0 1"],
            r"row 3: field 'image_id': image 'a.jpg' appears twice",
        ),
    ],
)
def test_malformed_csv_names_the_row(tmp_path, rows, message):
    path = _write_csv(tmp_path / "s.csv", rows)
    with pytest.raises(ContractError, match=message):
        list(read_submission(path, 2, 11))


def test_decode_with_dataset_rejects_unknown_image(tmp_path, sample_dataset):
    from trashseg.components.submit.logic import SubmitParams, run_decode

    path = _write_csv(tmp_path / "s.csv", ["image_id,PredictionString", "nope.jpg," + " ".join(["0"] * 4)])
    with pytest.raises(ContractError, match=r"row 2: field 'image_id': image 'nope.jpg' is not in dataset"):
        run_decode(path, tmp_path / "pred", SubmitParams(submission_size=2), dataset_dir=sample_dataset)
    assert not (tmp_path / "pred").exists()
