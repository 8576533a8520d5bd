"""``trashseg ingest``: COCO JSON + image folder -> dataset artifact."""

from __future__ import annotations

import argparse
from pathlib import Path

from trashseg.components.common.cli import add_overwrite, run_cli
from trashseg.components.common.params import add_arguments, from_args
from trashseg.components.ingest.params import IngestParams
from trashseg.data_contracts.classes import ClassTable


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ingest",
        help="COCO annotations + images -> dataset artifact (semantic masks painted largest first)",
        description="Check a COCO file and its images, paint semantic masks (descending area, so small objects stay "
        "visible), and write a self-contained dataset artifact. Nothing is written on any error.",
    )
    parser.add_argument("--coco", type=Path, required=True, help="COCO annotations JSON")
    parser.add_argument("--images", type=Path, required=True, help="directory the file_name entries are relative to")
    parser.add_argument("--out", type=Path, required=True, help="dataset directory to create")
    parser.add_argument(
        "--classes", default=None, help="comma-separated class names, Background first (default: the 11 trash classes)"
    )
    add_arguments(parser, IngestParams)
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_run, args))


def _run(args: argparse.Namespace) -> None:
    from trashseg.components.ingest.logic import run_ingest

    classes = ClassTable.from_names([n.strip() for n in args.classes.split(",")]) if args.classes else ClassTable()
    run_ingest(args.coco, args.images, args.out, classes, from_args(IngestParams, args), overwrite=args.overwrite)
