"""``trashseg ensemble``: several predictions -> one."""

from __future__ import annotations

import argparse
from pathlib import Path

from trashseg.components.common.cli import add_overwrite, run_cli
from trashseg.components.common.params import add_arguments, from_args
from trashseg.components.ensemble.params import EnsembleParams


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ensemble",
        help="pixel-wise hard vote (ties: earliest-listed model wins) or soft vote over predictions",
        description="Combine predictions of the same images (matched by file name). hard: weighted vote of label "
        "maps, a "
        "tie goes to the class of the earliest-listed model among the tied ones. soft: weighted mean of "
        "probabilities (needs infer --save-probs), then argmax.",
    )
    parser.add_argument(
        "--predictions",
        type=Path,
        nargs="+",
        required=True,
        help="two or more predictions artifacts, in priority order",
    )
    parser.add_argument("--out", type=Path, required=True, help="predictions directory to create")
    add_arguments(parser, EnsembleParams)
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_run, args))


def _run(args: argparse.Namespace) -> None:
    from trashseg.components.ensemble.logic import run_ensemble

    run_ensemble(args.predictions, args.out, from_args(EnsembleParams, args), overwrite=args.overwrite)
