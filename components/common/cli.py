"""The pieces every stage CLI shares: common options and the error-to-exit-code rule."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Callable

from trashseg.components.common.errors import ExportDisagrees, TrainingDiverged
from trashseg.data_contracts.errors import ContractError


def add_overwrite(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the output if it already exists (default: refuse)"
    )


class Stopped(BaseException):
    """SIGTERM arrived (a pod being stopped, kill): unwinds like Ctrl-C so every temporary is removed on the way out."""

    def __init__(self, signal_number: int):
        super().__init__(signal_number)
        self.signal_number = signal_number


def _raise_stopped(signal_number: int, _frame: object) -> None:
    raise Stopped(signal_number)


def run_cli(action: Callable[[argparse.Namespace], object], args: argparse.Namespace) -> int:
    """Run a stage; bad input prints one clear line and exits 2 (no traceback).

    SIGINT and SIGTERM end the stage with one line and exit 130 / 143 after the
    ``atomic_*`` writers have removed their temporaries: nothing half-written stays.
    """
    previous = signal.signal(signal.SIGTERM, _raise_stopped)
    try:
        action(args)
    except ContractError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (TrainingDiverged, ExportDisagrees) as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    except (KeyboardInterrupt, Stopped) as err:
        name = "SIGTERM" if isinstance(err, Stopped) else "SIGINT"
        print(
            f"stopped by {name}: nothing was written (train keeps its last epoch's checkpoint for --resume)",
            file=sys.stderr,
        )
        return 143 if isinstance(err, Stopped) else 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0
