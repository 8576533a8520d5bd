"""``trashseg sample-data``: generate the project's own small COCO dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from trashseg.components.common.cli import add_overwrite, run_cli


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sample-data",
        help="generate a synthetic COCO dataset (train, unlabeled test, test truth)",
        description="Write synthetic trash scenes (10 object classes with distinct shapes and textures, Battery and "
        "Clothing rare) as COCO: OUT/train, OUT/test (no annotations) and OUT/test_truth.",
    )
    parser.add_argument("--out", type=Path, required=True, help="directory to create")
    parser.add_argument("--train-images", type=int, default=96, help="labeled images (default 96)")
    parser.add_argument("--test-images", type=int, default=24, help="unlabeled test images (default 24)")
    parser.add_argument(
        "--size", type=int, default=128, help="image side in pixels (default 128; the competition used 512)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_run, args))


def _run(args: argparse.Namespace) -> None:
    from trashseg.components.sample_data.logic import run_sample_data

    run_sample_data(args.out, args.train_images, args.test_images, args.size, args.seed, overwrite=args.overwrite)
