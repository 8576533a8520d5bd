"""The ``metrics`` contract: evaluation results as JSON (summary) and Parquet (tables).

Layout::

    manifest.json         contract "metrics"; extra: predictions/dataset hashes
    metrics.json          miou, mean_image_miou, pixel_accuracy, mean_class_accuracy,
                          per_class_iou {name: iou or null}, images
    per_class.parquet     class_id, class_name, iou, accuracy, true_pixels, predicted_pixels
    per_image.parquet     image_id, file_name, miou, pixel_accuracy
    confusion.parquet     true_class, predicted_class, pixels (every cell, rows = truth)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from trashseg.data_contracts.artifact import ArtifactView, Manifest, read_manifest, write_manifest
from trashseg.data_contracts.tables import read_table, write_table

CONTRACT = "metrics"
VERSION = 1
SUMMARY_FILE = "metrics.json"
PER_CLASS_FILE = "per_class.parquet"
PER_IMAGE_FILE = "per_image.parquet"
CONFUSION_FILE = "confusion.parquet"

PER_CLASS_SCHEMA = pa.schema(
    [
        ("class_id", pa.int32()),
        ("class_name", pa.string()),
        ("iou", pa.float64()),
        ("accuracy", pa.float64()),
        ("true_pixels", pa.int64()),
        ("predicted_pixels", pa.int64()),
    ]
)
PER_IMAGE_SCHEMA = pa.schema(
    [("image_id", pa.int64()), ("file_name", pa.string()), ("miou", pa.float64()), ("pixel_accuracy", pa.float64())]
)
CONFUSION_SCHEMA = pa.schema([("true_class", pa.int32()), ("predicted_class", pa.int32()), ("pixels", pa.int64())])


def _clean(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def write_metrics(
    directory: Path,
    summary: dict[str, Any],
    per_class: pd.DataFrame,
    per_image: pd.DataFrame,
    confusion: np.ndarray,
    producer: dict[str, Any],
    extra: dict[str, Any],
) -> Manifest:
    directory = Path(directory)
    summary = {k: (_clean(v) if isinstance(v, float) else v) for k, v in summary.items()}
    summary["per_class_iou"] = {k: _clean(v) for k, v in summary.get("per_class_iou", {}).items()}
    (directory / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    write_table(directory / PER_CLASS_FILE, pa.Table.from_pandas(per_class, preserve_index=False), PER_CLASS_SCHEMA)
    write_table(directory / PER_IMAGE_FILE, pa.Table.from_pandas(per_image, preserve_index=False), PER_IMAGE_SCHEMA)
    n = confusion.shape[0]
    cells = pd.DataFrame(
        {
            "true_class": np.repeat(np.arange(n), n),
            "predicted_class": np.tile(np.arange(n), n),
            "pixels": confusion.ravel(),
        }
    )
    write_table(directory / CONFUSION_FILE, pa.Table.from_pandas(cells, preserve_index=False), CONFUSION_SCHEMA)
    manifest = Manifest(
        contract=CONTRACT,
        version=VERSION,
        rows={"images": len(per_image), "classes": len(per_class)},
        files={name: "" for name in (SUMMARY_FILE, PER_CLASS_FILE, PER_IMAGE_FILE, CONFUSION_FILE)},
        producer=producer,
        extra=extra,
    )
    return write_manifest(directory, manifest)


class Metrics(ArtifactView):
    def __init__(self, path: Path):
        self.path = Path(path)
        self.manifest = read_manifest(self.path, CONTRACT, (VERSION,))
        self.summary = json.loads((self.path / SUMMARY_FILE).read_text())
        self.per_class = read_table(self.path / PER_CLASS_FILE, PER_CLASS_SCHEMA).to_pandas()
        self.per_image = read_table(self.path / PER_IMAGE_FILE, PER_IMAGE_SCHEMA).to_pandas()
        cells = read_table(self.path / CONFUSION_FILE, CONFUSION_SCHEMA).to_pandas()
        n = int(math.isqrt(len(cells)))
        self.confusion = cells.sort_values(["true_class", "predicted_class"])["pixels"].to_numpy().reshape(n, n)

    @property
    def miou(self) -> float:
        return float(self.summary["miou"])


def read_metrics(path: Path) -> Metrics:
    return Metrics(path)
