"""Start ``trashseg train`` as N data-parallel processes with torchrun (several GPUs in one pod).

Why a command line and not a function call: torchrun starts fresh processes, each
of which must run the same training; the CLI is the one entry point they share.
The command is built from the same ``TrainParams`` the single-process path uses,
and a test parses it back with the CLI's own parser, so the two cannot drift.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from trashseg.components.common.params import options_of
from trashseg.components.train.params import TrainMachine, TrainParams


def train_arguments(
    datasets: list[Path],
    split: Path,
    out: Path,
    params: TrainParams,
    pretrained: str | Path | None = None,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    machine: TrainMachine | None = None,
) -> list[str]:
    """``trashseg train`` arguments that reproduce ``run_train(datasets, split, out, params, ...)``."""
    argv = ["train"]
    for dataset in datasets:
        argv += ["--dataset", str(dataset)]
    argv += ["--split", str(split), "--out", str(out), *options_of(params), *options_of(machine or TrainMachine())]
    if pretrained:
        argv += ["--pretrained", str(pretrained)]
    if checkpoint_dir:
        argv += ["--checkpoint-dir", str(checkpoint_dir)]
    if resume:
        argv.append("--resume")
    if overwrite:
        argv.append("--overwrite")
    return argv


def torchrun_command(processes: int, train_argv: list[str]) -> list[str]:
    """One node, ``processes`` ranks (one per GPU), a free rendezvous port chosen by torchrun itself."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={processes}",
        "-m",
        "trashseg.components.cli",
        *train_argv,
    ]


def run_torchrun(processes: int, train_argv: list[str]) -> None:
    """Run it; a failed rank fails the caller with the launcher's exit code (its log is already in the task log)."""
    result = subprocess.run(torchrun_command(processes, train_argv), check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"torchrun with {processes} processes failed with exit code {result.returncode} (see the log above)"
        )
