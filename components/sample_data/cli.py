"""``trashseg sample-data``: generate the project's own small COCO dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from trashseg.components.common.cli import add_overwrite, run_cli
from trashseg.components.common.params import add_arguments, from_args
from trashseg.components.sample_data.params import SampleDataParams


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sample-data",
        help="generate a synthetic COCO dataset (train, unlabeled test, test truth)",
        description="Write synthetic trash scenes (10 object classes with distinct shapes and textures, Battery and "
        "Clothing rare) as COCO: OUT/train, OUT/test (no annotations) and OUT/test_truth.",
    )
    parser.add_argument("--out", type=Path, required=True, help="directory to create")
    add_arguments(parser, SampleDataParams)
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_run, args))


def _run(args: argparse.Namespace) -> None:
    from trashseg.components.sample_data.logic import run_sample_data

    params = from_args(SampleDataParams, args)
    run_sample_data(
        args.out, params.train_images, params.test_images, params.image_size, params.seed, overwrite=args.overwrite
    )
