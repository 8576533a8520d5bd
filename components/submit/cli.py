"""``trashseg submit``: predictions -> competition CSV (or ``--decode`` a CSV back)."""

from __future__ import annotations

import argparse
from pathlib import Path

from trashseg.components.common.cli import add_overwrite, run_cli
from trashseg.components.common.params import add_arguments, from_args
from trashseg.components.submit.params import SubmitParams


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "submit",
        help="write the competition CSV (image_id,PredictionString at 256x256), or --decode one",
        description="Write one CSV row per image: image_id = COCO file_name, PredictionString = the label map resized "
        "to --submission-size (row-major, space-separated class ids), in the order of --template when it lists image "
        "ids (else the dataset's). With --decode, turn a CSV back into predictions at its own size.",
    )
    parser.add_argument("--predictions", type=Path, help="predictions artifact to submit")
    parser.add_argument("--decode", type=Path, help="a submission CSV to turn into predictions")
    parser.add_argument("--dataset", type=Path, help="with --decode: match rows to this dataset's images by file_name")
    parser.add_argument(
        "--template",
        type=Path,
        help="a sample submission (e.g. the competition's sample_submission.csv): rows in its order when it lists "
        "image ids, which must be the predicted images; a header alone keeps the dataset's order",
    )
    parser.add_argument("--out", type=Path, required=True, help="CSV to write (or predictions directory with --decode)")
    add_arguments(parser, SubmitParams)
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_run, args), parser=parser)


def _run(args: argparse.Namespace) -> None:
    from trashseg.components.submit.logic import run_decode, run_submit

    if bool(args.predictions) == bool(args.decode):
        args.parser.error("give either --predictions (write a CSV) or --decode (read one)")
    if args.decode:
        run_decode(args.decode, args.out, from_args(SubmitParams, args), args.dataset, overwrite=args.overwrite)
    else:
        run_submit(
            args.predictions, args.out, from_args(SubmitParams, args), overwrite=args.overwrite, template=args.template
        )
