"""``trashseg serve``: a model or an exported-model behind a KServe model server (Open Inference Protocol v2, REST)."""

from __future__ import annotations

import argparse
from pathlib import Path

from trashseg.components.common.cli import run_cli
from trashseg.components.common.machine import Machine
from trashseg.components.common.params import add_arguments, from_args
from trashseg.components.serve.params import ServeParams


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve a model or its ONNX export over HTTP (KServe, Open Inference Protocol v2)",
        description="Start a KServe model server for a model artifact (torch) or an exported-model (ONNX Runtime). "
        "POST /v2/models/trashseg/infer with one BYTES input 'image' of base64 JPEG/PNG photos answers one "
        "UINT8 'labels' map per photo at its own size: the labels `trashseg infer` writes for it. "
        "GET /v2/health/ready and /v2/models/trashseg/ready say when it is ready. SIGTERM drains and stops it. "
        "See docs/serving.md.",
    )
    parser.add_argument("--model", type=Path, required=True, help="model or exported-model artifact directory")
    add_arguments(parser, ServeParams)
    add_arguments(parser.add_argument_group("this machine"), Machine)
    parser.set_defaults(func=lambda args: run_cli(_run, args))


def _run(args: argparse.Namespace) -> None:
    from trashseg.components.serve.logic import run_serve

    run_serve(args.model, from_args(ServeParams, args), from_args(Machine, args))
