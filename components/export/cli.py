"""``trashseg export``: model -> exported-model (ONNX), checked against the model before it is written."""

from __future__ import annotations

import argparse
from pathlib import Path

from trashseg.components.common.cli import add_overwrite, run_cli
from trashseg.components.common.params import add_arguments, from_args
from trashseg.components.export.params import ExportParams


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="a model artifact as an ONNX graph for ONNX Runtime (exported-model artifact)",
        description="Export a trained model's network to ONNX (torch.onnx.export, dynamic batch, the model's size), "
        "then compare ONNX Runtime's labels with the torch model's on a few images: the export is written only "
        "if they agree on at least 99%% of the pixels (exit 3 otherwise). The card records the preprocessing "
        "(image size, mean/std), the classes, the family, the source model's hash and the agreement.",
    )
    parser.add_argument("--model", type=Path, required=True, help="model artifact directory")
    parser.add_argument("--out", type=Path, required=True, help="exported-model directory to create")
    parser.add_argument("--dataset", type=Path, help="dataset whose images the check uses (default: generated images)")
    add_arguments(parser, ExportParams)
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_run, args))


def _run(args: argparse.Namespace) -> None:
    from trashseg.components.export.logic import run_export

    run_export(args.model, args.out, args.dataset, from_args(ExportParams, args), overwrite=args.overwrite)
