"""The competition submission: CSV ``image_id,PredictionString``.

``image_id`` is the image's COCO file_name; PredictionString is the size x size
label map, row-major, as space-separated class ids. Encoding is vectorised (the
digits are written straight into a byte buffer) and byte-identical to the
competition baseline's ``' '.join(str(e) for e in mask.flatten())``.
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from trashseg.data_contracts.errors import ContractError

HEADER = ("image_id", "PredictionString")
_ZERO, _SPACE = ord("0"), ord(" ")


def encode_labels(labels: np.ndarray) -> str:
    """Row-major class ids (0..999) as one space-separated string."""
    values = np.asarray(labels).ravel().astype(np.int64)
    if values.size == 0:
        return ""
    digits = 1 + (values >= 10) + (values >= 100)
    ends = np.cumsum(digits + 1)  # token plus its trailing separator
    starts = ends - digits - 1
    buffer = np.full(int(ends[-1]), _SPACE, dtype=np.uint8)
    ones = starts + digits - 1
    buffer[ones] = _ZERO + values % 10
    tens = values >= 10
    buffer[ones[tens] - 1] = _ZERO + (values[tens] // 10) % 10
    hundreds = values >= 100
    buffer[ones[hundreds] - 2] = _ZERO + values[hundreds] // 100
    return buffer[:-1].tobytes().decode("ascii")


def write_submission(path: Path, rows: Iterable[tuple[str, np.ndarray]]) -> int:
    """Write rows (file_name, label map); returns the number written."""
    count = 0
    with open(path, "w", newline="") as handle:
        handle.write(",".join(HEADER) + "\n")
        for file_name, labels in rows:
            name = f'"{file_name}"' if ("," in file_name or '"' in file_name) else file_name
            handle.write(f"{name},{encode_labels(labels)}\n")
            count += 1
    return count


def read_submission(
    path: Path, size: int | None, num_classes: int | None, ids_only: bool = False
) -> Iterator[tuple[str, np.ndarray | None]]:
    """Yield (image_id, (size, size) uint8 labels), checking every row; errors name the row.

    ``size`` None: the first row's value count, which must be a square, and every row the same. ``ids_only``: the
    image ids alone (a sample submission whose PredictionStrings may be empty).
    """
    path = Path(path)
    csv.field_size_limit(sys.maxsize)
    try:
        handle = open(path, newline="", encoding="utf-8")
    except OSError as err:
        raise ContractError(path, f"cannot read submission ({err.strerror or err})") from err
    with handle:
        reader = csv.reader(handle)
        line = 1
        try:
            header = next(reader, None)
            if header is None or tuple(h.strip().lstrip("\ufeff") for h in header) != HEADER:
                raise ContractError(path, f"header must be {','.join(HEADER)}, got {header}", record="row 1")
            seen: set[str] = set()
            for line, row in enumerate(reader, start=2):
                image_id, labels, size = _row(path, f"row {line}", row, seen, size, num_classes, ids_only)
                yield image_id, labels
        except UnicodeDecodeError as err:
            raise ContractError(
                path, f"is not UTF-8 text (byte {err.start} of a line after row {line})", record=f"row {line + 1}"
            ) from None
        except csv.Error as err:
            raise ContractError(path, f"is not a readable CSV ({err})", record=f"row {line + 1}") from None


def _row(
    path: Path, where: str, row: list[str], seen: set[str], size: int | None, num_classes: int | None, ids_only: bool
) -> tuple[str, np.ndarray | None, int | None]:
    """One row checked: (image_id, labels or None, the size every row must have)."""
    if len(row) != 2:
        raise ContractError(path, f"expected 2 columns, got {len(row)}", record=where)
    image_id, text = row
    if image_id in seen:
        raise ContractError(path, f"image {image_id!r} appears twice", record=where, field="image_id")
    seen.add(image_id)
    if ids_only:
        return image_id, None, size
    try:
        values = np.array(text.split(), dtype=np.int64)
    except (ValueError, OverflowError):
        bad = next((t for t in text.split() if not t.isdigit() or len(t) > 18), text[:20])
        raise ContractError(
            path, f"{bad[:20]!r} is not a class id (an integer 0..255)", record=where, field="PredictionString"
        ) from None
    if size is None:
        size = math.isqrt(values.size)
        if size * size != values.size or size == 0:
            raise ContractError(
                path, f"{values.size} values are not a square label map", record=where, field="PredictionString"
            )
    if values.size != size * size:
        raise ContractError(
            path,
            f"{values.size} values, expected {size}x{size} = {size * size}",
            record=where,
            field="PredictionString",
        )
    limit = num_classes if num_classes is not None else 256
    if values.size and (values.min() < 0 or values.max() >= limit):
        bad = int(values[(values < 0) | (values >= limit)][0])
        raise ContractError(path, f"class {bad} outside 0..{limit - 1}", record=where, field="PredictionString")
    return image_id, values.astype(np.uint8).reshape(size, size), size
