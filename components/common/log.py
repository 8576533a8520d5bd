"""Logging and progress bars configured the same way for every stage."""

from __future__ import annotations

import logging
import os
import sys
from typing import Iterable, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def get_logger(name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    if not logging.getLogger().handlers and not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(os.environ.get("TRASHSEG_LOG_LEVEL", "INFO"))
    return logger


def progress(items: Iterable[T], desc: str, total: int | None = None, unit: str = "img") -> Iterable[T]:
    """A tqdm bar on stderr when it is a terminal (logs of kfp tasks and CI stay readable).

    TRASHSEG_PROGRESS=1 forces bars on, TRASHSEG_PROGRESS=0 forces them off.
    """
    setting = os.environ.get("TRASHSEG_PROGRESS")
    disable = None if setting is None else setting == "0"  # None: tqdm turns itself off when stderr is not a TTY
    return tqdm(items, desc=desc, total=total, unit=unit, disable=disable, file=sys.stderr, dynamic_ncols=True)
