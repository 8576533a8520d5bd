"""``trashseg augment``: copy-paste rare classes into new training images."""

from __future__ import annotations

import argparse
from pathlib import Path

from components.common.cli import add_overwrite, run_cli


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "augment", help="copy-paste rare-class instances onto the most background-heavy training images",
        description="Cut instances of --classes out of training-fold images (by their own annotation masks), scale and "
                    "rotate them at random, paste each onto a training image with much Background, and write the new "
                    "images as a training-only dataset (pass it to train as an extra --dataset, same --fold).",
    )
    parser.add_argument("--dataset", type=Path, required=True, help="labeled dataset artifact")
    parser.add_argument("--split", type=Path, required=True, help="its split")
    parser.add_argument("--fold", type=int, default=0, help="validation fold: its images are never used (default 0)")
    parser.add_argument("--classes", default="Battery,Clothing", help="classes to paste (default Battery,Clothing)")
    parser.add_argument("--count", help="new images per class, e.g. Battery=50,Clothing=100 (default 50 each)")
    parser.add_argument("--scale", default="0.5,1.5", help="random scale range (default 0.5,1.5)")
    parser.add_argument("--rotate", type=float, default=30.0, help="random rotation range in degrees, +/- (default 30)")
    parser.add_argument("--seed", type=int, default=42, help="seed (default 42)")
    parser.add_argument("--out", type=Path, required=True, help="dataset directory to create")
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_run, args))


def _run(args: argparse.Namespace) -> None:
    from components.augment.logic import AugmentParams, parse_counts, run_augment
    from data_contracts.errors import ContractError

    try:
        lo, hi = (float(v) for v in args.scale.split(","))
    except ValueError:
        raise ContractError("--scale", f"expected MIN,MAX, got {args.scale!r}", field="scale") from None
    params = AugmentParams(fold=args.fold, classes=tuple(c.strip() for c in args.classes.split(",")), counts=parse_counts(args.count),
                           scale=(lo, hi), rotate=args.rotate, seed=args.seed)
    run_augment(args.dataset, args.split, args.out, params, overwrite=args.overwrite)
