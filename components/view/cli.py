"""``trashseg view``: start the Streamlit viewer on localhost."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from trashseg.components.common.cli import run_cli


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "view",
        help="browse predictions beside the image and the ground truth (Streamlit, localhost)",
        description="Start a Streamlit app: overlays in the class palette with a legend, sorting by per-image mIoU, "
        "filters "
        "by class, per-class IoU and the confusion matrix, and two prediction sets side by side with their "
        "disagreement. Predictions may be artifacts or submission CSVs.",
    )
    parser.add_argument("--dataset", type=Path, required=True, help="dataset artifact (labeled: ground truth is shown)")
    parser.add_argument(
        "--predictions",
        type=Path,
        action="append",
        required=True,
        help="predictions artifact or submission CSV; repeat to compare",
    )
    parser.add_argument("--port", type=int, default=8501, help="port on localhost, 1024..65535 (default 8501)")
    parser.set_defaults(func=lambda args: run_cli(_run, args))


def _run(args: argparse.Namespace) -> None:
    from trashseg.components.common import checks
    from trashseg.data_contracts.dataset import Dataset
    from trashseg.data_contracts.errors import ContractError

    checks.number("--port", args.port, low=1024, high=65535, integer=True)
    Dataset(args.dataset)  # check inputs before starting a server
    for path in args.predictions:
        if not path.exists():
            raise ContractError(path, "predictions not found", field="predictions")
    env = {
        **os.environ,
        "TRASHSEG_VIEW_CONFIG": json.dumps(
            {"dataset": str(args.dataset.resolve()), "predictions": [str(p.resolve()) for p in args.predictions]}
        ),
    }
    app = Path(__file__).with_name("app.py")
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(args.port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    sys.stdout.flush()
    sys.stderr.flush()
    # Become the server (no child): SIGTERM or Ctrl-C to `trashseg view` reaches Streamlit itself, and nothing is
    # orphaned.
    os.execve(sys.executable, command, env)
