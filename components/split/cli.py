"""``trashseg split``: dataset -> folds."""

from __future__ import annotations

import argparse
from pathlib import Path

from trashseg.components.common.cli import add_overwrite, run_cli
from trashseg.components.common.params import add_arguments, from_args
from trashseg.components.split.params import SplitParams


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "split",
        help="StratifiedGroupKFold folds (stratified by class, grouped by image) with per-fold class shares",
        description="Assign every image of a dataset to a fold with scikit-learn's StratifiedGroupKFold over "
        "annotations (label = category, group = image), and report each fold's class shares beside the whole set's. "
        "With --validation-coco, the images of that COCO file (the official validation split) are fold 0 and the "
        "rest fold 1: train and evaluate with --fold 0.",
    )
    parser.add_argument("--dataset", type=Path, required=True, help="dataset artifact directory")
    add_arguments(parser, SplitParams)
    parser.add_argument(
        "--validation-coco",
        type=Path,
        help="a COCO file of the same images root whose images are the validation fold (fold 0; the rest is fold 1), "
        "e.g. the competition's val.json; default: StratifiedGroupKFold",
    )
    parser.add_argument("--out", type=Path, required=True, help="split directory to create")
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_run, args))


def _run(args: argparse.Namespace) -> None:
    from trashseg.components.split.logic import run_split

    run_split(
        args.dataset,
        args.out,
        from_args(SplitParams, args),
        overwrite=args.overwrite,
        validation_coco=args.validation_coco,
    )
