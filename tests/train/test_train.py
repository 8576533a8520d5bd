"""train: learning on sample data, kill + resume, NaN guard, bad inputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from safetensors.torch import load_file

from trashseg.components.common.metrics import confusion_matrix, mean_iou
from trashseg.components.models.presets import get_preset
from trashseg.components.train.logic import TrainingDiverged, TrainParams, run_train
from trashseg.data_contracts.dataset import Dataset
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.model import ModelArtifact
from trashseg.data_contracts.split import Split


def all_background_miou(dataset_dir, split_dir, fold) -> float:
    dataset, fold_of = Dataset(dataset_dir), Split(split_dir).fold_of()
    cm = sum(
        confusion_matrix(dataset.mask(i), np.zeros_like(dataset.mask(i)), 11)
        for i in dataset.image_ids
        if fold_of[i] == fold
    )
    return mean_iou(cm)


@pytest.mark.slow
@pytest.mark.parametrize(
    "preset, epochs, schedule, factor",
    [
        ("upernet-convnext-tiny", 60, "constant", 2.5),
        ("mask2former-swin-tiny", 40, "poly", 1.5),
    ],
)
def test_tiny_models_learn_the_sample_data(learn_data, tmp_path, preset, epochs, schedule, factor):
    dataset, split = learn_data
    params = TrainParams(preset=preset, fold=0, epochs=epochs, image_size=64, seed=0, schedule=schedule)
    run_train([dataset], split, tmp_path / "model", params)
    model = ModelArtifact(tmp_path / "model")
    baseline = all_background_miou(dataset, split, 0)
    best = model.card["metrics"]["val_miou"]
    history = model.history().to_pandas()
    assert len(history) == epochs and best == pytest.approx(history["val_miou"].max())
    assert best > factor * baseline, f"{preset}: val mIoU {best:.3f} vs all-Background {baseline:.3f}"
    assert (
        model.card["training"]["lr_backbone"] == get_preset(preset).lr_backbone
        and model.card["best_epoch"] == int(history["val_miou"].idxmax()) + 1
    )
    assert {"lr_head", "train_loss", "iou_Background"} <= set(history.columns)


def _train_cli(sample_dataset, sample_split, out, ckpt, *extra):
    return [
        sys.executable,
        "-m",
        "trashseg.components.cli",
        "train",
        "--dataset",
        str(sample_dataset),
        "--split",
        str(sample_split),
        "--fold",
        "1",
        "--preset",
        "upernet-convnext-tiny",
        "--epochs",
        "4",
        "--image-size",
        "64",
        "--batch-size",
        "4",
        "--seed",
        "3",
        "--out",
        str(out),
        "--checkpoint-dir",
        str(ckpt),
        "--device",
        "cpu",
        *extra,
    ]


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_weights(sample_dataset, sample_split, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TRASHSEG_PROGRESS": "0"}
    first = subprocess.run(
        _train_cli(sample_dataset, sample_split, tmp_path / "full", tmp_path / "ck_full"),
        env=env,
        capture_output=True,
        text=True,
    )
    assert first.returncode == 0, first.stderr
    victim = subprocess.Popen(
        _train_cli(sample_dataset, sample_split, tmp_path / "resumed", tmp_path / "ck"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    while (
        not list((tmp_path / "ck").glob("train-*/last/state.json")) and time.time() < deadline and victim.poll() is None
    ):
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    (state,) = (tmp_path / "ck").glob("train-*/last/state.json")  # one run, one keyed folder
    killed_after = json.loads(state.read_text())["epoch"]
    assert killed_after < 4 and not (tmp_path / "resumed").exists()
    result = subprocess.run(
        _train_cli(sample_dataset, sample_split, tmp_path / "resumed", tmp_path / "ck", "--resume"),
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert f"resuming from {state.parent.parent} after epoch {killed_after}" in result.stderr
    full = load_file(str(tmp_path / "full" / "model.safetensors"))
    resumed = load_file(str(tmp_path / "resumed" / "model.safetensors"))
    assert full.keys() == resumed.keys()
    for key in full:
        assert np.array_equal(full[key].numpy(), resumed[key].numpy()), key
    assert (
        ModelArtifact(tmp_path / "full").history().to_pandas()["val_miou"].tolist()
        == ModelArtifact(tmp_path / "resumed").history().to_pandas()["val_miou"].tolist()
    )
    assert not any((tmp_path / "ck").iterdir())  # the run's folder is removed after success, the folder given is kept


@pytest.mark.slow
def test_other_start_weights_on_the_same_checkpoint_folder_train_instead_of_refusing(
    sample_dataset, sample_split, tmp_path
):
    """The checkpoint key holds the start weights: a second run from other weights is another run, not a clash."""
    from trashseg.components.models.build import build_model
    from trashseg.data_contracts.classes import ClassTable

    for seed in (1, 2):  # two different start checkpoints of the same family
        build_model(get_preset("upernet-convnext-tiny"), ClassTable(), seed=seed).save_pretrained(
            tmp_path / f"start{seed}"
        )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TRASHSEG_PROGRESS": "0"}
    ck = tmp_path / "ck"
    runs = []
    for seed in (1, 2):
        command = _train_cli(
            sample_dataset,
            sample_split,
            tmp_path / f"model{seed}",
            ck,
            "--pretrained",
            str(tmp_path / f"start{seed}"),
            "--resume",
            "--keep-checkpoints",
        )
        command[command.index("--epochs") + 1] = "1"
        runs.append(subprocess.run(command, env=env, capture_output=True, text=True))
    assert [r.returncode for r in runs] == [0, 0], runs[1].stderr
    assert "resuming" not in runs[1].stderr  # nothing of the first run's was taken
    assert len(list(ck.glob("train-*/last/state.json"))) == 2  # one keyed folder per start
    starts = [ModelArtifact(tmp_path / f"model{seed}").card["training"]["pretrained"]["revision"] for seed in (1, 2)]
    assert starts[0] != starts[1]
    again = subprocess.run(
        [*command, "--overwrite"], env=env, capture_output=True, text=True
    )  # the same run: its own checkpoint
    assert again.returncode == 0 and "resuming from" in again.stderr and "after epoch 1" in again.stderr, again.stderr


def test_nan_loss_stops_without_saving(sample_dataset, sample_split, tmp_path, monkeypatch):
    import trashseg.components.train.step as step_module

    real_loss, calls = step_module.training_loss, []

    def loss_that_turns_nan(*args, **kwargs):  # the real loss, made NaN from the 2nd step on (as a blown-up lr would)
        calls.append(1)
        loss = real_loss(*args, **kwargs)
        return loss * float("nan") if len(calls) >= 2 else loss

    monkeypatch.setattr(step_module, "training_loss", loss_that_turns_nan)
    params = TrainParams(preset="upernet-convnext-tiny", fold=0, epochs=3, image_size=64)
    with pytest.raises(TrainingDiverged, match=r"loss became nan at epoch \d, step \d: nothing was saved"):
        run_train([sample_dataset], sample_split, tmp_path / "model", params)
    assert not (tmp_path / "model").exists()


def test_train_rejects_unlabeled_and_foreign_split(sample_root, sample_dataset, sample_split, tmp_path):
    from trashseg.components.ingest.logic import run_ingest
    from trashseg.components.split.logic import SplitParams, run_split

    run_ingest(sample_root / "test" / "annotations.json", sample_root / "test" / "images", tmp_path / "test")
    with pytest.raises(ContractError, match="is unlabeled: training needs masks"):
        run_train(
            [sample_dataset, tmp_path / "test"],
            sample_split,
            tmp_path / "m",
            TrainParams(preset="upernet-convnext-tiny", epochs=1),
        )
    with pytest.raises(ContractError, match="fold 7 does not exist"):
        run_train(
            [sample_dataset],
            sample_split,
            tmp_path / "m",
            TrainParams(preset="upernet-convnext-tiny", fold=7, epochs=1),
        )
    run_ingest(sample_root / "test_truth" / "annotations.json", sample_root / "test" / "images", tmp_path / "truth")
    run_split(tmp_path / "truth", tmp_path / "other_split", SplitParams(folds=2))
    with pytest.raises(ContractError, match="was made for dataset"):
        run_train(
            [sample_dataset],
            tmp_path / "other_split",
            tmp_path / "m",
            TrainParams(preset="upernet-convnext-tiny", epochs=1),
        )
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_optional_augmentations_are_deterministic_and_keep_class_ids(learn_data, tmp_path):
    from trashseg.components.train.photometric import AUGMENTATIONS, augment

    dataset = Dataset(learn_data[0])
    image_id = dataset.image_ids[0]
    image, mask = dataset.image(image_id), dataset.mask(image_id)
    a = augment(image, mask, AUGMENTATIONS, np.random.default_rng([1, 2, 3]))
    b = augment(image, mask, AUGMENTATIONS, np.random.default_rng([1, 2, 3]))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert a[0].shape == image.shape and a[1].shape == mask.shape and not np.array_equal(a[0], image)
    assert set(np.unique(a[1])) <= set(np.unique(mask))  # nearest resampling: no new class ids
    with pytest.raises(ContractError, match="--photometric: 'blur' is not one of"):
        TrainParams(photometric=["noise", "blur"]).check()
    params = TrainParams(
        preset="upernet-convnext-tiny",
        fold=0,
        epochs=1,
        image_size=64,
        photometric=["brightness_contrast", "random_resized_crop"],
    )
    run_train([learn_data[0]], learn_data[1], tmp_path / "m", params)
    assert ModelArtifact(tmp_path / "m").card["training"]["photometric"] == [
        "brightness_contrast",
        "random_resized_crop",
    ]
