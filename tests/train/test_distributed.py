"""train under torchrun: 2 CPU processes (gloo) against one process with the same global batch; kill + resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest
import torch
from safetensors.torch import load_file

from trashseg.components.models.build import build_model
from trashseg.components.models.presets import get_preset
from trashseg.data_contracts.dataset import Dataset
from trashseg.data_contracts.model import ModelArtifact

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TRASHSEG_PROGRESS": "0"}


def _train(dataset, split, out, *extra, processes: int = 1, batch: int = 8, **popen):
    launcher = (
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(processes)]
        if processes > 1
        else [sys.executable]
    )
    command = [
        *launcher,
        "-m",
        "trashseg.components.cli",
        "train",
        "--dataset",
        str(dataset),
        "--split",
        str(split),
        "--fold",
        "0",
        "--preset",
        "upernet-convnext-tiny",
        "--image-size",
        "64",
        "--batch-size",
        str(batch),
        "--seed",
        "5",
        "--device",
        "cpu",
        "--out",
        str(out),
        *extra,
    ]
    if popen:
        return subprocess.Popen(command, env=ENV, **popen)
    return subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=600)


def _update_difference(a: dict, b: dict, start: dict) -> float:
    """||w_a - w_b|| / ||w_a - w_start|| over the learned parameters: how far apart two runs' updates are."""
    keys = [k for k in a if "running_" not in k and "num_batches" not in k]
    apart = sum(float(((a[k].double() - b[k].double()) ** 2).sum()) for k in keys)
    moved = sum(float(((a[k].double() - start[k].double()) ** 2).sum()) for k in keys)
    return (apart / moved) ** 0.5


@pytest.mark.slow
def test_two_processes_match_one_process_with_the_same_global_batch(sample_dataset, sample_split, tmp_path):
    # No warmup: its first step has learning rate 0, and these runs are a step or two long. The model's own loss: a
    # per-pixel mean, which averaging over the processes reproduces (soft Dice is a ratio of batch sums, computed per
    # process on its share: with ce_dice, N processes are close to one process, not equal).
    steps = ["--epochs", "1", "--max-steps-per-epoch", "3", "--no-hflip", "--warmup-steps", "0", "--loss", "model"]
    single = _train(sample_dataset, sample_split, tmp_path / "single", *steps)
    assert single.returncode == 0, single.stderr
    ddp = _train(sample_dataset, sample_split, tmp_path / "ddp", *steps, processes=2)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert "2 processes" in ddp.stderr
    other_batch = _train(sample_dataset, sample_split, tmp_path / "batch4", *steps, batch=4)
    assert other_batch.returncode == 0, other_batch.stderr

    start = build_model(get_preset("upernet-convnext-tiny"), Dataset(sample_dataset).classes, seed=5).state_dict()
    one, two = (load_file(str(tmp_path / name / "model.safetensors")) for name in ("single", "ddp"))
    assert one.keys() == two.keys()
    # Gradients agree up to the order of float additions (two half-batch sums all-reduced vs one sum); AdamW's first
    # steps divide by |g|, so for gradients near zero that rounding can move an update by up to the learning rate.
    # Hence: the updates agree to 0.2% in norm, and all but 1% of the weights to 1e-5.
    assert _update_difference(one, two, start) < 2e-3
    diffs = np.concatenate(
        [(one[k].float() - two[k].float()).abs().flatten().numpy() for k in one if "running_" not in k]
    )
    assert (diffs > 1e-5).mean() < 0.01
    # The tolerance separates: another global batch (4 instead of 8) lands far outside it.
    assert _update_difference(one, load_file(str(tmp_path / "batch4" / "model.safetensors")), start) > 0.1
    # Batch-norm statistics are those of the whole global batch (SyncBatchNorm's job, done on CPU by GlobalBatchNorm).
    for key in (k for k in one if k.endswith("running_mean")):
        assert torch.allclose(one[key], two[key], atol=1e-4), key
    card = ModelArtifact(tmp_path / "ddp").card
    assert card["training"]["processes"] == 2
    assert card["metrics"]["val_miou"] == pytest.approx(
        ModelArtifact(tmp_path / "single").card["metrics"]["val_miou"], abs=0.01
    )


@pytest.mark.slow
def test_ddp_run_killed_after_its_first_checkpoint_resumes(sample_dataset, sample_split, tmp_path):
    ck = tmp_path / "ck"
    extra = ["--epochs", "3", "--checkpoint-dir", str(ck)]
    victim = _train(
        sample_dataset,
        sample_split,
        tmp_path / "m",
        *extra,
        processes=2,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    while not list(ck.glob("train-*/last/state.json")) and time.time() < deadline and victim.poll() is None:
        time.sleep(0.02)
    (state,) = ck.glob("train-*/last/state.json")  # the run's own keyed folder
    tree = [victim_process := psutil.Process(victim.pid), *victim_process.children(recursive=True)]
    for process in tree:  # the launcher and both ranks (torchrun starts its workers in sessions of their own)
        process.send_signal(signal.SIGKILL)
    psutil.wait_procs(tree, timeout=30)
    victim.wait()
    killed_after = json.loads(state.read_text())["epoch"]
    assert 1 <= killed_after < 3 and not (tmp_path / "m").exists()
    resumed = _train(sample_dataset, sample_split, tmp_path / "m", *extra, "--resume", processes=2)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming from {state.parent.parent} after epoch {killed_after}" in resumed.stderr
    model = ModelArtifact(tmp_path / "m")
    assert model.card["epochs_run"] == 3 and len(model.history().to_pandas()) == 3
    assert not any(ck.iterdir())  # the run's folder goes after success; the folder given stays


def test_batch_must_divide_among_processes(sample_dataset, sample_split, tmp_path, monkeypatch):
    from trashseg.components.train.logic import TrainParams, run_train
    from trashseg.data_contracts.errors import ContractError

    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ContractError, match="does not divide among 3 processes"):
        run_train(
            [sample_dataset],
            sample_split,
            tmp_path / "m",
            TrainParams(preset="upernet-convnext-tiny", epochs=1, batch_size=8),
        )
    assert not (tmp_path / "m").exists()


def test_torchrun_command_round_trips_through_the_cli(tmp_path):
    """The multi-GPU pod path builds a `trashseg train` command from TrainParams: it must mean the same run."""
    from trashseg.components.cli import build_parser
    from trashseg.components.common.params import from_args
    from trashseg.components.train.launch import torchrun_command, train_arguments
    from trashseg.components.train.params import TrainMachine, TrainParams

    params = TrainParams(
        preset="upernet-swin-tiny",
        fold=2,
        epochs=7,
        batch_size=6,
        lr_backbone=2e-4,
        lr_head=3e-3,
        warmup_steps=5,
        schedule="cosine",
        weight_decay=0.05,
        image_size=96,
        seed=9,
        hflip=False,
        max_steps_per_epoch=4,
        photometric=["noise", "random_resized_crop"],
    )
    machine = TrainMachine(device="cpu", precision="fp32", compile="off", workers=3)
    argv = train_arguments(
        [tmp_path / "d", tmp_path / "aug"],
        tmp_path / "s",
        tmp_path / "m",
        params,
        tmp_path / "pre",
        tmp_path / "ck",
        resume=True,
        overwrite=True,
        machine=machine,
    )
    args = build_parser().parse_args(argv)
    assert from_args(TrainParams, args) == params and from_args(TrainMachine, args) == machine
    assert (
        args.dataset == [tmp_path / "d", tmp_path / "aug"]
        and args.split == tmp_path / "s"
        and args.out == tmp_path / "m"
    )
    assert (
        args.pretrained == str(tmp_path / "pre")
        and args.checkpoint_dir == tmp_path / "ck"
        and args.resume
        and args.overwrite
    )
    assert (
        build_parser()
        .parse_args(
            train_arguments(
                [tmp_path / "d"], tmp_path / "s", tmp_path / "m", TrainParams(preset="upernet-convnext-tiny")
            )
        )
        .resume
        is False
    )
    command = torchrun_command(4, argv)
    assert (
        command[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node=4"]
        and command[-len(argv) :] == argv
    )


@pytest.mark.slow
def test_the_pod_launcher_trains_with_two_processes(sample_dataset, sample_split, tmp_path):
    """What the train component does with gpus=2 (here on CPU with gloo): a model written once, by rank 0."""
    from trashseg.components.train.launch import run_torchrun, train_arguments
    from trashseg.components.train.params import TrainMachine, TrainParams

    params = TrainParams(preset="upernet-convnext-tiny", epochs=1, image_size=32, batch_size=8, max_steps_per_epoch=2)
    run_torchrun(
        2, train_arguments([sample_dataset], sample_split, tmp_path / "m", params, machine=TrainMachine(device="cpu"))
    )
    assert ModelArtifact(tmp_path / "m").card["training"]["processes"] == 2
    with pytest.raises(RuntimeError, match="torchrun with 2 processes failed"):
        run_torchrun(
            2, train_arguments([sample_dataset], sample_split, tmp_path / "m", params)
        )  # exists: refused by each rank
