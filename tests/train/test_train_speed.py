"""Training speed on CPU: the loader's workers change nothing, FLOPs are counted right, the GPU bench runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from bench.gpu_train import count_flops, peak_tflops
from bench.gpu_train import main as bench_main
from trashseg.components.models.presets import get_preset
from trashseg.components.train.logic import run_train
from trashseg.components.train.params import TrainMachine, TrainParams


@pytest.mark.slow
def test_loader_workers_give_the_same_weights(learn_data, tmp_path):
    dataset, split = learn_data
    common = dict(fold=0, epochs=1, image_size=64, seed=1, photometric=["brightness_contrast", "random_resized_crop"])
    params = TrainParams(preset="upernet-convnext-tiny", **common)
    run_train([dataset], split, tmp_path / "w0", params, machine=TrainMachine(workers=0))
    run_train([dataset], split, tmp_path / "w2", params, machine=TrainMachine(workers=2))
    a, b = (load_file(str(tmp_path / name / "model.safetensors")) for name in ("w0", "w2"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_flop_counter_matches_hand_counts():
    conv = torch.nn.Conv2d(3, 16, kernel_size=3, padding=1)
    x = torch.randn(2, 3, 32, 32)
    assert count_flops(conv, x) == 2 * 2 * 16 * 32 * 32 * 3 * 3 * 3  # 2 FLOPs per multiply-add, per output element
    linear = torch.nn.Linear(64, 10)
    x = torch.randn(5, 64, requires_grad=True)
    assert (
        count_flops(lambda v: linear(v).sum().backward(), x) == 3 * 2 * 5 * 64 * 10
    )  # forward + two backward products


def test_peak_table_picks_the_most_specific_name():
    assert peak_tflops("NVIDIA H100 80GB HBM3") == 989.4
    assert peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert peak_tflops("NVIDIA H200") == 989.4
    assert peak_tflops("cpu") is None


@pytest.mark.slow
def test_bench_runs_on_cpu_with_a_tiny_preset(tmp_path):
    out = tmp_path / "r.jsonl"
    assert (
        bench_main(
            [
                "preset",
                "upernet-convnext-tiny",
                "--size",
                "64",
                "--warmup",
                "1",
                "--steps",
                "2",
                "--variants",
                "before,fused,batch",
                "--device",
                "cpu",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["variant"] for r in records] == ["before", "fused", "batch"]
    preset_batch = get_preset("upernet-convnext-tiny").batch_size
    assert records[2]["batch"] == 2 * preset_batch and records[0]["batch"] == preset_batch
    for record in records:
        assert "train_mfu" not in record  # no peak rate for a CPU
        assert record["train_tflop_s"] == pytest.approx(
            record["train_images_per_s"] * record["train_gflop_per_image"] / 1e3
        )
        assert len(record["losses"]) == 3 and np.isfinite(record["losses"]).all()
    # FLOPs per image do not depend on the batch; the same weights and batches give the same first loss
    assert records[0]["train_gflop_per_image"] == pytest.approx(records[2]["train_gflop_per_image"], rel=1e-6)
    assert records[0]["losses"][0] == pytest.approx(records[1]["losses"][0], rel=1e-6)
