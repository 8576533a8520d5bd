"""``trashseg infer``: model + dataset -> predictions."""

from __future__ import annotations

import argparse
from pathlib import Path

from trashseg.components.common.cli import add_overwrite, run_cli
from trashseg.components.common.machine import Machine
from trashseg.components.common.params import add_arguments, from_args
from trashseg.components.infer.params import InferParams


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "infer",
        help="label maps (and optionally probabilities) for every image of a dataset, with optional TTA",
        description="Predict every image of a dataset in batches (memory stays flat), at each image's own size.",
    )
    parser.add_argument("--model", type=Path, required=True, help="model artifact directory")
    parser.add_argument("--dataset", type=Path, required=True, help="dataset artifact (labeled or not)")
    parser.add_argument("--out", type=Path, required=True, help="predictions directory to create")
    parser.add_argument("--split", type=Path, help="with --fold: predict only that fold's images (validation)")
    parser.add_argument("--fold", type=int, help="fold to predict (needs --split)")
    add_arguments(parser, InferParams)
    add_arguments(parser.add_argument_group("this machine"), Machine)
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_run, args))


def _run(args: argparse.Namespace) -> None:
    from trashseg.components.infer.logic import run_infer

    run_infer(
        args.model,
        args.dataset,
        args.out,
        from_args(InferParams, args),
        args.split,
        args.fold,
        overwrite=args.overwrite,
        machine=from_args(Machine, args),
    )
