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
        (["image_id,PredictionString", "a.jpg,0 0 x 1"], r"row 2: field 'PredictionString': 'x' is not a class id"),
        (
            ["image_id,PredictionString", "a.jpg,0 0 99999999999999999999999 1"],
            r"row 2: field 'PredictionString': '99999999999999999999' is not a class id",
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


def test_a_csv_that_is_not_utf8_names_its_row(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(b"image_id,PredictionString\na.jpg,0 0 0 1\nb\xff\xfe.jpg,0 0 0 1\n")
    with pytest.raises(ContractError, match=r"is not UTF-8 text"):
        list(read_submission(path, 2, 11))


def test_decode_reads_the_size_from_the_rows(tmp_path):
    from trashseg.components.submit.logic import run_decode
    from trashseg.data_contracts.predictions import Predictions

    path = _write_csv(tmp_path / "s.csv", ["image_id,PredictionString", "a.jpg," + " ".join(["3"] * 9)])
    run_decode(path, tmp_path / "pred")
    decoded = Predictions(tmp_path / "pred")
    assert decoded.labels(decoded.image_ids[0]).shape == (3, 3)
    uneven = _write_csv(
        tmp_path / "u.csv", ["image_id,PredictionString", "a.jpg," + " ".join(["0"] * 9), "b.jpg,0 0 0 0"]
    )
    with pytest.raises(ContractError, match=r"row 3: field 'PredictionString': 4 values, expected 3x3 = 9"):
        run_decode(uneven, tmp_path / "pred2")
    with pytest.raises(ContractError, match=r"row 2: field 'PredictionString': 5 values are not a square label map"):
        run_decode(_write_csv(tmp_path / "f.csv", ["image_id,PredictionString", "a.jpg,0 0 0 0 0"]), tmp_path / "pred3")
    assert not (tmp_path / "pred2").exists() and not (tmp_path / "pred3").exists()


def test_rows_follow_a_template_that_lists_ids_and_the_dataset_when_it_is_a_header(sample_dataset, tmp_path):
    from trashseg.components.submit.logic import SubmitParams, run_decode, run_submit
    from trashseg.data_contracts.dataset import Dataset

    names = [str(n) for n in Dataset(sample_dataset).images["file_name"]]
    csv = _write_csv(
        tmp_path / "p.csv", ["image_id,PredictionString", *(f"{n}," + " ".join(["1"] * 16) for n in names)]
    )
    run_decode(csv, tmp_path / "pred", dataset_dir=sample_dataset)
    reversed_template = _write_csv(
        tmp_path / "t.csv", ["image_id,PredictionString", *(f"{n}," for n in reversed(names))]
    )
    run_submit(tmp_path / "pred", tmp_path / "out.csv", SubmitParams(submission_size=4), template=reversed_template)
    assert [image_id for image_id, _ in read_submission(tmp_path / "out.csv", 4, 11)] == list(reversed(names))
    header = _write_csv(tmp_path / "h.csv", ["image_id,PredictionString"])
    run_submit(tmp_path / "pred", tmp_path / "h-out.csv", SubmitParams(submission_size=4), template=header)
    assert [image_id for image_id, _ in read_submission(tmp_path / "h-out.csv", 4, 11)] == names
    short = _write_csv(tmp_path / "s.csv", ["image_id,PredictionString", *(f"{n}," for n in names[1:])])
    with pytest.raises(ContractError, match=f"has no row for image {names[0]!r}"):
        run_submit(tmp_path / "pred", tmp_path / "s-out.csv", template=short)
    assert not (tmp_path / "s-out.csv").exists()


def test_decode_with_dataset_rejects_unknown_image(tmp_path, sample_dataset):
    from trashseg.components.submit.logic import SubmitParams, run_decode

    path = _write_csv(tmp_path / "s.csv", ["image_id,PredictionString", "nope.jpg," + " ".join(["0"] * 4)])
    with pytest.raises(ContractError, match=r"row 2: field 'image_id': image 'nope.jpg' is not in dataset"):
        run_decode(path, tmp_path / "pred", SubmitParams(submission_size=2), dataset_dir=sample_dataset)
    assert not (tmp_path / "pred").exists()
