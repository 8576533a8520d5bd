"""``trashseg evaluate``: predictions + labeled dataset -> metrics."""

from __future__ import annotations

import argparse
from pathlib import Path

from components.common.cli import add_overwrite, run_cli


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="mIoU (dataset-level confusion matrix), per-image mIoU, accuracies, per-class IoU",
        description="Score predictions against a labeled dataset; --split/--fold restrict it to a validation fold.",
    )
    parser.add_argument("--predictions", type=Path, required=True, help="predictions artifact")
    parser.add_argument("--dataset", type=Path, required=True, help="labeled dataset artifact")
    parser.add_argument("--split", type=Path, help="split artifact (with --fold: score that fold only)")
    parser.add_argument("--fold", type=int, help="fold to score")
    parser.add_argument("--out", type=Path, required=True, help="metrics directory to create")
    parser.add_argument("--subset", action="store_true",
                        help="score only the images that have predictions (default: every image of the set needs one)")
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_run, args))


def _run(args: argparse.Namespace) -> None:
    from components.evaluate.logic import run_evaluate

    run_evaluate(args.predictions, args.dataset, args.out, args.split, args.fold, overwrite=args.overwrite, subset=args.subset)
