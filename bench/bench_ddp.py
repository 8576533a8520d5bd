"""Data-parallel overhead on this machine's CPU: ``trashseg train`` as 1 process against 2 torchrun processes.

Same data, same global batch, same steps; images/s comes from the model's own
history (training time only, validation excluded). On 2 shared cores two
processes do not speed anything up: the figure shows what DDP's gradient
all-reduce and batch-norm synchronisation cost, alternating the two runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import REPO, save


def _train(dataset: Path, split: Path, out: Path, processes: int, steps: int) -> float:
    launcher = (
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}"]
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
        "--preset",
        "upernet-convnext-tiny",
        "--epochs",
        "2",
        "--image-size",
        "128",
        "--batch-size",
        "8",
        "--device",
        "cpu",
        "--max-steps-per-epoch",
        str(steps),
        "--out",
        str(out),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 2) // processes)), "TRASHSEG_PROGRESS": "0"}
    subprocess.run(command, env=env, check=True, capture_output=True, cwd=REPO)
    from trashseg.data_contracts.model import ModelArtifact

    return float(ModelArtifact(out).history().to_pandas()["images_per_second"].iloc[-1])  # epoch 2: warm caches


def run(repeats: int = 2, steps: int = 12) -> dict:
    from trashseg.components.ingest.logic import run_ingest
    from trashseg.components.sample_data.logic import run_sample_data
    from trashseg.components.split.logic import SplitParams, run_split

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_sample_data(root / "data", train_images=128, test_images=4, image_size=128, seed=0)
        run_ingest(root / "data" / "train" / "annotations.json", root / "data" / "train" / "images", root / "ds")
        run_split(root / "ds", root / "split", SplitParams(folds=4))
        results: dict[int, list[float]] = {1: [], 2: []}
        for k in range(repeats):
            for processes in (1, 2):
                results[processes].append(
                    _train(root / "ds", root / "split", root / f"m{processes}-{k}", processes, steps)
                )
    one, two = (sorted(v)[len(v) // 2] for v in (results[1], results[2]))
    figures = {
        "model": "upernet-convnext-tiny",
        "image_size": 128,
        "global_batch": 8,
        "steps": steps,
        "cpus": os.cpu_count(),
        "one_process_images_per_s": one,
        "two_processes_images_per_s": two,
        "two_over_one": two / one,
        "runs": results,
    }
    save("ddp_cpu", figures)
    print(f"1 process {one:.1f} img/s, 2 processes {two:.1f} img/s ({two / one:.2f}x)")
    return figures
