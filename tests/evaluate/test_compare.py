"""compare: members' mIoU against scikit-learn, paired bootstrap intervals that separate signal from noise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.reference import sklearn_miou
from trashseg.components.cli import main
from trashseg.components.common.metrics import mean_iou
from trashseg.components.evaluate.compare import CompareParams, DeltaSpec, batched_miou, run_compare
from trashseg.data_contracts.dataset import Dataset
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.predictions import Predictions, PredictionsWriter


def _predictions(dataset_dir: Path, out: Path, corrupt: dict[int, float], seed: int = 0) -> Path:
    """The truth with a share of each image's pixels set to Background (``corrupt[i]``, default none)."""
    dataset = Dataset(dataset_dir)
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True)
    writer = PredictionsWriter(out, dataset.classes, with_probs=False)
    for image_id in dataset.image_ids:
        labels = dataset.mask(image_id).copy()
        labels[labels == 255] = 0
        share = corrupt.get(image_id, 0.0)
        labels[rng.random(labels.shape) < share] = 0
        writer.add(image_id, str(dataset.record(image_id)["file_name"]), labels)
    writer.finish({"stage": "test"})
    return out


def test_member_miou_is_scikit_learns_and_a_uniform_gain_is_signal(sample_dataset, tmp_path):
    ids = Dataset(sample_dataset).image_ids
    good = _predictions(sample_dataset, tmp_path / "good", {i: 0.05 for i in ids})
    bad = _predictions(sample_dataset, tmp_path / "bad", {i: 0.4 for i in ids}, seed=1)
    summary = run_compare(
        {"good": good, "bad": bad}, sample_dataset, tmp_path / "cmp.json", [DeltaSpec("gain", "good", "bad")]
    )
    assert summary["members"]["good"] == pytest.approx(sklearn_miou(good, sample_dataset), abs=1e-12)
    assert summary["members"]["bad"] == pytest.approx(sklearn_miou(bad, sample_dataset), abs=1e-12)
    gain = summary["deltas"]["gain"]
    assert gain["value"] == pytest.approx(summary["members"]["good"] - summary["members"]["bad"], abs=1e-12)
    assert 0 < gain["ci_low"] < gain["value"] < gain["ci_high"] and gain["p_not_better"] == 0.0  # better on every image
    assert json.loads((tmp_path / "cmp.json").read_text()) == json.loads(json.dumps(summary))


def test_a_gain_on_one_image_only_is_not_called_signal(sample_dataset, tmp_path):
    """Same predictions except one image: the point gain is positive, the interval reaches 0 (a resample without it)."""
    ids = Dataset(sample_dataset).image_ids
    base = {i: 0.2 for i in ids}
    lucky = _predictions(sample_dataset, tmp_path / "lucky", {**base, ids[0]: 0.0})
    plain = _predictions(sample_dataset, tmp_path / "plain", base)
    summary = run_compare(
        {"lucky": lucky, "plain": plain}, sample_dataset, tmp_path / "cmp.json", [DeltaSpec("gain", "lucky", "plain")]
    )
    gain = summary["deltas"]["gain"]
    assert gain["value"] > 0 and gain["ci_low"] == 0.0 < gain["ci_high"]
    # About (1 - 1/n)^n of the resamples leave the image out, and then the two members are identical.
    expected = (1 - 1 / len(ids)) ** len(ids)
    assert gain["p_not_better"] == pytest.approx(expected, abs=0.05)


def test_identical_members_differ_by_exactly_zero_and_best_picks_the_best_other(sample_dataset, tmp_path):
    ids = Dataset(sample_dataset).image_ids
    one = _predictions(sample_dataset, tmp_path / "one", {i: 0.1 for i in ids})
    worse = _predictions(sample_dataset, tmp_path / "worse", {i: 0.3 for i in ids})
    summary = run_compare(
        {"a": one, "b": one, "c": worse},
        sample_dataset,
        tmp_path / "cmp.json",
        [DeltaSpec("same", "a", "b"), DeltaSpec("over_best", "c", "best")],
        params=CompareParams(resamples=200),
    )
    assert (
        summary["deltas"]["same"]["value"] == 0
        and summary["deltas"]["same"]["ci_low"] == summary["deltas"]["same"]["ci_high"] == 0
    )
    assert summary["deltas"]["over_best"]["worse"] in ("a", "b") and summary["deltas"]["over_best"]["value"] < 0
    again = run_compare(
        {"a": one, "b": one, "c": worse},
        sample_dataset,
        tmp_path / "again.json",
        [DeltaSpec("same", "a", "b"), DeltaSpec("over_best", "c", "best")],
        params=CompareParams(resamples=200),
    )
    assert again == summary  # same inputs and seed, same intervals


def test_batched_miou_is_mean_iou_of_each_matrix():
    rng = np.random.default_rng(3)
    stack = rng.integers(0, 50, size=(6, 4, 4))
    stack[2, 3, :] = 0
    stack[2, :, 3] = 0  # class 3 absent from truth and prediction: left out, as mean_iou does
    assert np.allclose(batched_miou(stack), [mean_iou(m) for m in stack])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--member", "a=PRED", "--delta", "g=a-b"], "compare needs at least two"),
        (["--member", "a=PRED", "--member", "b=PRED", "--delta", "g=a-zz"], "'zz' is not a member"),
        (["--member", "a=PRED", "--member", "b=PRED", "--delta", "gain"], "is not NAME=A-B"),
        (["--member", "a=PRED", "--member", "b=PRED", "--delta", "g=a-b", "--resamples", "5"], "--resamples"),
        (["--member", "a=PRED", "--member", "b=PRED", "--delta", "g=a-b", "--confidence", "1.5"], "--confidence"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, message, sample_dataset, tmp_path, capsys):
    pred = _predictions(sample_dataset, tmp_path / "p", {})
    argv = [a.replace("PRED", str(pred)) for a in argv]
    assert main(["compare", *argv, "--dataset", str(sample_dataset), "--out", str(tmp_path / "cmp.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "cmp.json").exists()


def test_a_class_delta_is_that_classs_iou_gain(sample_dataset, tmp_path):
    """Copy-paste's evidence: the IoU of one class, compared with scikit-learn's Jaccard score for that class."""
    from sklearn.metrics import jaccard_score

    dataset = Dataset(sample_dataset)
    ids = dataset.image_ids
    truth = np.concatenate([dataset.mask(i).ravel() for i in ids])
    keep = truth != 255
    counts = np.bincount(truth[keep], minlength=dataset.classes.num_classes)
    rare = int(
        min((c for c in range(1, len(counts)) if counts[c]), key=lambda c: counts[c])
    )  # the rarest class present
    name = dataset.classes.names[rare]
    pasted = _predictions(sample_dataset, tmp_path / "pasted", {i: 0.1 for i in ids})
    plain = tmp_path / "plain"  # the same, but every pixel of the rare class predicted as Background: never learned
    plain.mkdir()
    source = Predictions(pasted)
    writer = PredictionsWriter(plain, dataset.classes, with_probs=False)
    for image_id in ids:
        labels = source.labels(image_id).copy()
        labels[labels == rare] = 0
        writer.add(image_id, str(dataset.record(image_id)["file_name"]), labels)
    writer.finish({"stage": "test"})
    summary = run_compare(
        {"paste": pasted, "plain": plain},
        sample_dataset,
        tmp_path / "cmp.json",
        [DeltaSpec.parse(f"rare=paste-plain@{name}"), DeltaSpec.parse("miou=paste-plain")],
        params=CompareParams(resamples=300),
    )

    def class_iou(predictions: Path) -> float:
        predicted = np.concatenate([Predictions(predictions).labels(i).ravel() for i in ids])
        return float(jaccard_score(truth[keep], predicted[keep], labels=[rare], average=None, zero_division=0)[0])

    gain = summary["deltas"]["rare"]
    assert gain["class"] == name and class_iou(plain) == 0.0
    assert gain["value"] == pytest.approx(class_iou(pasted) - class_iou(plain), abs=1e-12)
    assert 0 < gain["ci_low"] <= gain["value"] <= gain["ci_high"]
    assert summary["deltas"]["miou"]["value"] < gain["value"]  # one class of eleven moves the mean less
    with pytest.raises(ContractError, match="unknown class 'Batery'"):
        run_compare(
            {"paste": pasted, "plain": plain},
            sample_dataset,
            tmp_path / "x.json",
            [DeltaSpec.parse("b=paste-plain@Batery")],
        )
    with pytest.raises(ContractError, match="NAME=A-B@CLASS"):
        DeltaSpec.parse("b=paste-plain@")
