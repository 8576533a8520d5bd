"""Logging and progress bars configured the same way for every stage."""

from __future__ import annotations

import logging
import os
import sys
from typing import Iterable, Iterator, TypeVar

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


def progress(items: Iterable[T], desc: str, total: int | None = None, unit: str = "img") -> Iterator[T]:
    """A tqdm bar on stderr; silent when TRASHSEG_PROGRESS=0 (CI logs, kfp tasks)."""
    disable = os.environ.get("TRASHSEG_PROGRESS", "1") == "0"
    return iter(tqdm(items, desc=desc, total=total, unit=unit, disable=disable, file=sys.stderr, dynamic_ncols=True))
