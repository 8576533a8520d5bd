"""``trashseg augment``: copy-paste rare classes into new training images."""

from __future__ import annotations

import argparse
from pathlib import Path

from trashseg.components.augment.params import AugmentParams
from trashseg.components.common.cli import add_overwrite, run_cli
from trashseg.components.common.params import add_arguments, from_args


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "augment",
        help="copy-paste rare-class instances onto the most background-heavy training images",
        description="Cut instances of --paste-classes out of training-fold images (by their own annotation masks), "
        "scale and "
        "rotate them at random, paste each onto a training image with much Background, and write the new "
        "images as a training-only dataset (pass it to train as an extra --dataset, same --fold).",
    )
    parser.add_argument("--dataset", type=Path, required=True, help="labeled dataset artifact")
    parser.add_argument("--split", type=Path, required=True, help="its split")
    add_arguments(parser, AugmentParams)
    parser.add_argument("--out", type=Path, required=True, help="dataset directory to create")
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_run, args))


def _run(args: argparse.Namespace) -> None:
    from trashseg.components.augment.logic import run_augment

    run_augment(args.dataset, args.split, args.out, from_args(AugmentParams, args), overwrite=args.overwrite)
