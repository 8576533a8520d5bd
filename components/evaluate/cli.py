"""``trashseg evaluate``: predictions + labeled dataset -> metrics."""

from __future__ import annotations

import argparse
from pathlib import Path

from trashseg.components.common.cli import add_overwrite, run_cli
from trashseg.components.common.params import add_arguments, from_args
from trashseg.components.evaluate.params import CompareParams, EvaluateParams


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="mIoU (dataset-level confusion matrix), per-image mIoU, accuracies, per-class IoU",
        description="Score predictions against a labeled dataset; --split/--fold restrict it to a validation fold.",
    )
    parser.add_argument("--predictions", type=Path, required=True, help="predictions artifact")
    parser.add_argument("--dataset", type=Path, required=True, help="labeled dataset artifact")
    parser.add_argument("--split", type=Path, help="split artifact (with --fold: score that fold only)")
    parser.add_argument("--out", type=Path, required=True, help="metrics directory to create")
    add_arguments(parser, EvaluateParams)
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_run, args))
    add_compare_parser(subparsers)


def _run(args: argparse.Namespace) -> None:
    from trashseg.components.evaluate.logic import run_evaluate

    run_evaluate(
        args.predictions, args.dataset, args.out, args.split, from_args(EvaluateParams, args), overwrite=args.overwrite
    )


def add_compare_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="mIoU deltas between prediction sets (pseudo-label gain, ensemble gain) with bootstrap intervals",
        description="Score every member on the same images and report NAME=A-B deltas, each with a percentile "
        "interval from a "
        "paired bootstrap over images (every resample draws the same images for every member).",
    )
    parser.add_argument(
        "--member",
        action="append",
        required=True,
        metavar="NAME=PREDICTIONS",
        help="a prediction set and its name (repeat, at least two)",
    )
    parser.add_argument(
        "--delta",
        action="append",
        required=True,
        metavar="NAME=A-B[@CLASS]",
        help="report mIoU(A) - mIoU(B), or with @CLASS that class's IoU(A) - IoU(B); B may be 'best', the "
        "best member other than A (repeatable)",
    )
    parser.add_argument("--dataset", type=Path, required=True, help="labeled dataset artifact")
    parser.add_argument("--split", type=Path, help="split artifact (with --fold: compare on that fold only)")
    parser.add_argument("--out", type=Path, required=True, help="comparison JSON to write")
    add_arguments(parser, CompareParams)
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_compare, args))


def _compare(args: argparse.Namespace) -> None:
    from trashseg.components.evaluate.compare import DeltaSpec, run_compare
    from trashseg.data_contracts.errors import ParameterError

    members = {}
    for item in args.member:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ParameterError("--member", f"{item!r} is not NAME=PREDICTIONS")
        members[name] = Path(path)
    run_compare(
        members,
        args.dataset,
        args.out,
        [DeltaSpec.parse(d) for d in args.delta],
        args.split,
        from_args(CompareParams, args),
        overwrite=args.overwrite,
    )
