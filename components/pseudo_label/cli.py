"""``trashseg pseudo-label``: predictions + unlabeled dataset -> labeled, training-only dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from trashseg.components.common.cli import add_overwrite, run_cli
from trashseg.components.common.params import add_arguments, from_args
from trashseg.components.pseudo_label.params import PseudoLabelParams


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pseudo-label",
        help="turn predictions on unlabeled images into a training-only labeled dataset",
        description="Write a dataset whose masks are the predicted label maps; pass it to train as an extra --dataset. "
        "Pixels below --min-confidence become 255 (ignored by the losses).",
    )
    parser.add_argument("--predictions", type=Path, required=True, help="predictions on the unlabeled dataset")
    parser.add_argument(
        "--dataset", type=Path, required=True, help="the unlabeled dataset the predictions were made on"
    )
    parser.add_argument("--out", type=Path, required=True, help="dataset directory to create")
    add_arguments(parser, PseudoLabelParams)
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_run, args))


def _run(args: argparse.Namespace) -> None:
    from trashseg.components.pseudo_label.logic import run_pseudo_label

    run_pseudo_label(
        args.predictions, args.dataset, args.out, from_args(PseudoLabelParams, args), overwrite=args.overwrite
    )
