"""Checks of parameters (numbers, choices, cross-field rules), shared by every stage's CLI, component and pipeline.

Why here: a stage's logic function calls its parameters' ``check()`` first thing,
so the CLI, the kfp component (which calls the same function) and the pipelines
all refuse the same values with the same one line, before any file is read or
any long work starts. Each failure names the parameter, the value and what is
allowed, and is a ParameterError (exit code 2).
"""

from __future__ import annotations

import math
import re
from typing import Iterable

from trashseg.data_contracts.errors import ParameterError

DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    return f"{left}{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}{right}"


def number(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> None:
    """``value`` is a finite number (an integer when asked) inside the interval."""
    allowed = ("an integer in " if integer else "a number in ") + _interval(low, high, low_open, high_open)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not float(value).is_integer()):
        raise ParameterError(name, f"{value!r} is not allowed; expected {allowed}")
    if (
        not math.isfinite(value)
        or (low is not None and (value < low or (low_open and value == low)))
        or (high is not None and (value > high or (high_open and value == high)))
    ):
        raise ParameterError(name, f"{value!r} is out of range; expected {allowed}")


def choice(name: str, value: object, allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    if value not in allowed:
        raise ParameterError(name, f"{value!r} is not one of {', '.join(allowed)}")


def device(name: str, value: str) -> None:
    if not isinstance(value, str) or not DEVICE_PATTERN.match(value):
        raise ParameterError(name, f"{value!r} is not a device; expected auto, cpu, cuda or cuda:N")


def together(first: str, first_value: object, second: str, second_value: object) -> None:
    """Two options that only make sense together (``--fold`` needs ``--split`` and the other way round)."""
    if (first_value is None) != (second_value is None):
        given, missing = (first, second) if first_value is not None else (second, first)
        raise ParameterError(given, f"needs {missing} as well (they go together)")


SEED_MAX = 2**32 - 1
