"""The pieces every stage CLI shares: common options and the error-to-exit-code rule."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from components.common.errors import TrainingDiverged
from data_contracts.errors import ContractError


def add_overwrite(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--overwrite", action="store_true", help="replace the output if it already exists (default: refuse)")


def run_cli(action: Callable[[argparse.Namespace], object], args: argparse.Namespace) -> int:
    """Run a stage; bad input prints one clear line and exits 2 (no traceback)."""
    try:
        action(args)
    except ContractError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except TrainingDiverged as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    return 0
