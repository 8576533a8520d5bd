"""``trashseg evaluate``: predictions + labeled dataset -> metrics."""

from __future__ import annotations

import argparse
from pathlib import Path

from trashseg.components.common.cli import add_overwrite, run_cli


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
    add_compare_parser(subparsers)


def _run(args: argparse.Namespace) -> None:
    from trashseg.components.evaluate.logic import run_evaluate

    run_evaluate(args.predictions, args.dataset, args.out, args.split, args.fold, overwrite=args.overwrite, subset=args.subset)


def add_compare_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare", help="mIoU deltas between prediction sets (pseudo-label gain, ensemble gain) with bootstrap intervals",
        description="Score every member on the same images and report NAME=A-B deltas, each with a percentile interval from a "
                    "paired bootstrap over images (every resample draws the same images for every member).",
    )
    parser.add_argument("--member", action="append", required=True, metavar="NAME=PREDICTIONS",
                        help="a prediction set and its name (repeat, at least two)")
    parser.add_argument("--delta", action="append", required=True, metavar="NAME=A-B[@CLASS]",
                        help="report mIoU(A) - mIoU(B), or with @CLASS that class's IoU(A) - IoU(B); B may be 'best', the "
                             "best member other than A (repeatable)")
    parser.add_argument("--dataset", type=Path, required=True, help="labeled dataset artifact")
    parser.add_argument("--split", type=Path, help="split artifact (with --fold: compare on that fold only)")
    parser.add_argument("--fold", type=int, help="fold to compare on")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--confidence", type=float, default=0.95, help="interval coverage (default 0.95)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the resampling (default 0)")
    parser.add_argument("--out", type=Path, required=True, help="comparison JSON to write")
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_compare, args))


def _compare(args: argparse.Namespace) -> None:
    from trashseg.components.evaluate.compare import DeltaSpec, run_compare
    from trashseg.data_contracts.errors import ContractError

    members = {}
    for item in args.member:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ContractError("--member", f"{item!r} is not NAME=PREDICTIONS", field="member")
        members[name] = Path(path)
    run_compare(members, args.dataset, args.out, [DeltaSpec.parse(d) for d in args.delta], args.split, args.fold, args.resamples,
                args.seed, args.confidence, overwrite=args.overwrite)
