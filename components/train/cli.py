"""``trashseg train``: datasets + split + fold -> model."""

from __future__ import annotations

import argparse
from pathlib import Path

from trashseg.components.common.cli import add_overwrite, run_cli
from trashseg.components.common.params import add_arguments, from_args
from trashseg.components.train.params import TrainMachine, TrainParams


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a UperNet / BEiT / Mask2Former / EoMT preset; the best epoch by validation mIoU is the output",
        description="Train on every fold but --fold of the first dataset (plus all of any further datasets: copy-paste "
        "output, pseudo-labels), validate on --fold after each epoch, and write the best epoch as a model "
        "artifact. Unset learning rates, batch size and image size come from the preset (--list-models).",
    )
    parser.add_argument("--list-models", action="store_true", help="list the model presets and exit")
    parser.add_argument(
        "--dataset", type=Path, action="append", help="dataset artifact; repeat to add training-only datasets"
    )
    parser.add_argument("--split", type=Path, help="split artifact of the first dataset")
    parser.add_argument("--out", type=Path, help="model directory to create")
    parser.add_argument(
        "--pretrained",
        help="Hugging Face Hub id (through the HF cache; HF_HUB_OFFLINE=1 for a pre-filled one) or a "
        "local save_pretrained folder: a whole segmentation model (its classifiers are replaced "
        "for these classes) or a backbone (under the preset's fresh head). Default: the preset's "
        "checkpoint (--list-models)",
    )
    add_arguments(parser, TrainParams)
    add_arguments(parser.add_argument_group("this machine"), TrainMachine)
    parser.add_argument(
        "--checkpoint-dir",
        type=Path,
        help="folder for per-epoch checkpoints, one sub-folder per run (a hash of the "
        "inputs, parameters and start weights); default OUT.checkpoints",
    )
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint if there is one")
    parser.add_argument("--keep-checkpoints", action="store_true", help="keep the checkpoints after a successful run")
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_run, args), parser=parser)


def _run(args: argparse.Namespace) -> None:
    from trashseg.components.models.presets import describe_presets

    if args.list_models:
        print(describe_presets())
        return
    if not (args.dataset and args.split and args.out):
        args.parser.error("--dataset, --split and --out are required")
    from trashseg.components.train.logic import run_train

    run_train(
        args.dataset,
        args.split,
        args.out,
        from_args(TrainParams, args),
        args.pretrained,
        args.checkpoint_dir,
        args.resume,
        args.keep_checkpoints,
        overwrite=args.overwrite,
        machine=from_args(TrainMachine, args),
    )
