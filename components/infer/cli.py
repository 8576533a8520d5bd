"""``trashseg infer``: model + dataset -> predictions."""

from __future__ import annotations

import argparse
from pathlib import Path

from components.common.cli import add_overwrite, run_cli


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "infer", help="label maps (and optionally probabilities) for every image of a dataset, with optional TTA",
        description="Predict every image of a dataset in batches (memory stays flat), at each image's own size.",
    )
    parser.add_argument("--model", type=Path, required=True, help="model artifact directory")
    parser.add_argument("--dataset", type=Path, required=True, help="dataset artifact (labeled or not)")
    parser.add_argument("--out", type=Path, required=True, help="predictions directory to create")
    parser.add_argument("--tta", default="", help="test-time augmentation, e.g. 'flip,scales=0.75,1.0,1.25' (default none)")
    parser.add_argument("--save-probs", action="store_true", help="also store per-class probabilities (for soft ensembles, confidence)")
    parser.add_argument("--split", type=Path, help="with --fold: predict only that fold's images (validation)")
    parser.add_argument("--fold", type=int, help="fold to predict (needs --split)")
    parser.add_argument("--batch-size", type=int, default=8, help="images per forward pass (default 8)")
    parser.add_argument("--device", default="auto", help="auto (GPU if present), cpu, cuda")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default="auto", help="autocast dtype")
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_run, args))


def _run(args: argparse.Namespace) -> None:
    from components.infer.logic import TTA, InferParams, run_infer

    params = InferParams(TTA.parse(args.tta), args.batch_size, args.device, args.precision, args.save_probs)
    run_infer(args.model, args.dataset, args.out, params, args.split, args.fold, overwrite=args.overwrite)
