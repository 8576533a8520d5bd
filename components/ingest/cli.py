"""``trashseg ingest``: COCO JSON + image folder -> dataset artifact."""

from __future__ import annotations

import argparse
from pathlib import Path

from trashseg.components.common.cli import add_overwrite, run_cli
from trashseg.data_contracts.classes import ClassTable
from trashseg.data_contracts.images import DEFAULT_MAX_PIXELS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ingest", help="COCO annotations + images -> dataset artifact (semantic masks painted largest first)",
        description="Check a COCO file and its images, paint semantic masks (descending area, so small objects stay "
                    "visible), and write a self-contained dataset artifact. Nothing is written on any error.",
    )
    parser.add_argument("--coco", type=Path, required=True, help="COCO annotations JSON")
    parser.add_argument("--images", type=Path, required=True, help="directory the file_name entries are relative to")
    parser.add_argument("--out", type=Path, required=True, help="dataset directory to create")
    parser.add_argument("--classes", default=None,
                        help="comma-separated class names, Background first (default: the 11 trash classes)")
    parser.add_argument("--exif", choices=["transpose", "ignore"], default="transpose",
                        help="transpose: annotations refer to the EXIF-rotated image as viewers show it (default); "
                             "ignore: to the stored pixel grid")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="refuse larger images (decompression bombs)")
    parser.add_argument("--unlabeled", action="store_true", help="store no masks even if the JSON has annotations")
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_run, args))


def _run(args: argparse.Namespace) -> None:
    from trashseg.components.ingest.logic import IngestParams, run_ingest

    classes = ClassTable.from_names([n.strip() for n in args.classes.split(",")]) if args.classes else ClassTable()
    run_ingest(args.coco, args.images, args.out, classes,
               IngestParams(exif=args.exif, max_pixels=args.max_pixels, unlabeled=args.unlabeled), overwrite=args.overwrite)
