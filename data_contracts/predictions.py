"""The ``predictions`` contract: a label map per image, optionally per-class probabilities.

Layout::

    manifest.json     contract "predictions"; extra: classes, source (model/ensemble/csv),
                      model and dataset content hashes, TTA settings
    images.parquet    image_id, file_name, width, height (the dataset's order)
    labels.npz        uint8 (height, width) per image, key = str(image_id)
    probs.npz         optional: uint8 (C, height, width) per image, probability * 255
                      rounded (compact enough to keep for soft ensembling)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from trashseg.data_contracts.artifact import ArtifactView, Manifest, read_manifest, write_manifest
from trashseg.data_contracts.classes import ClassTable
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.npz import NpzReader, NpzWriter
from trashseg.data_contracts.tables import read_table, write_table

CONTRACT = "predictions"
VERSION = 1
IMAGES_FILE = "images.parquet"
LABELS_FILE = "labels.npz"
PROBS_FILE = "probs.npz"
PROB_SCALE = 255

IMAGES_SCHEMA = pa.schema(
    [("image_id", pa.int64()), ("file_name", pa.string()), ("width", pa.int32()), ("height", pa.int32())]
)


def quantise_probs(probs: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(probs * PROB_SCALE), 0, PROB_SCALE).astype(np.uint8)


def dequantise_probs(stored: np.ndarray) -> np.ndarray:
    return stored.astype(np.float32) / PROB_SCALE


class PredictionsWriter:
    """Stream label maps (and probabilities) one image at a time: memory stays flat."""

    def __init__(self, directory: Path, classes: ClassTable, with_probs: bool):
        self.directory = Path(directory)
        self.classes = classes
        self._labels = NpzWriter(self.directory / LABELS_FILE)
        self._probs = NpzWriter(self.directory / PROBS_FILE) if with_probs else None
        self._rows: list[dict[str, Any]] = []

    def add(self, image_id: int, file_name: str, labels: np.ndarray, probs: np.ndarray | None = None) -> None:
        where = f"image {image_id}"
        if labels.dtype != np.uint8 or labels.ndim != 2:
            raise ContractError(
                self.directory / LABELS_FILE,
                f"labels must be a 2-D uint8 array, got {labels.dtype} {labels.shape}",
                record=where,
            )
        if labels.size and int(labels.max()) >= self.classes.num_classes:
            raise ContractError(
                self.directory / LABELS_FILE,
                f"class {int(labels.max())} outside 0..{self.classes.num_classes - 1}",
                record=where,
            )
        self._labels.add(str(image_id), labels)
        if self._probs is not None:
            if probs is None or probs.shape != (self.classes.num_classes, *labels.shape):
                raise ContractError(
                    self.directory / PROBS_FILE, "probabilities missing or of the wrong shape", record=where
                )
            self._probs.add(str(image_id), probs if probs.dtype == np.uint8 else quantise_probs(probs))
        self._rows.append(
            {"image_id": int(image_id), "file_name": file_name, "width": labels.shape[1], "height": labels.shape[0]}
        )

    def finish(self, producer: dict[str, Any], extra: dict[str, Any] | None = None) -> Manifest:
        self._labels.close()
        if self._probs is not None:
            self._probs.close()
        write_table(self.directory / IMAGES_FILE, pa.Table.from_pylist(self._rows, schema=IMAGES_SCHEMA), IMAGES_SCHEMA)
        files = [IMAGES_FILE, LABELS_FILE] + ([PROBS_FILE] if self._probs is not None else [])
        manifest = Manifest(
            contract=CONTRACT,
            version=VERSION,
            rows={"images": len(self._rows)},
            files={name: "" for name in files},
            producer=producer,
            extra={"classes": list(self.classes.names), "has_probs": self._probs is not None, **(extra or {})},
        )
        return write_manifest(self.directory, manifest)


class Predictions(ArtifactView):
    def __init__(self, path: Path):
        self.path = Path(path)
        self.manifest = read_manifest(self.path, CONTRACT, (VERSION,))
        self.images: pd.DataFrame = read_table(self.path / IMAGES_FILE, IMAGES_SCHEMA).to_pandas()
        self.classes = ClassTable.from_names(self.manifest.extra["classes"])
        self.has_probs = bool(self.manifest.extra.get("has_probs"))
        self._labels = NpzReader(self.path / LABELS_FILE)
        self._probs = NpzReader(self.path / PROBS_FILE) if self.has_probs else None
        if self.images["image_id"].duplicated().any():
            raise ContractError(self.path / IMAGES_FILE, "duplicate image ids", field="image_id")
        self._size_of = {int(r.image_id): (int(r.height), int(r.width)) for r in self.images.itertuples(index=False)}

    @property
    def image_ids(self) -> list[int]:
        return [int(i) for i in self.images["image_id"]]

    def _size(self, image_id: int) -> tuple[int, int]:
        try:
            return self._size_of[int(image_id)]
        except KeyError:
            raise ContractError(self.path / IMAGES_FILE, "no such image", record=f"image {image_id}") from None

    def labels(self, image_id: int) -> np.ndarray:
        """The (H, W) uint8 label map, checked where it is read: size from images.parquet, values in the class table."""
        size, labels = self._size(image_id), self._labels[str(int(image_id))]
        where = f"image {image_id}"
        if labels.dtype != np.uint8 or labels.shape != size:
            raise ContractError(
                self.path / LABELS_FILE,
                f"label map {labels.dtype}{labels.shape} differs from images.parquet's uint8{size}",
                record=where,
            )
        if labels.size and int(labels.max()) >= self.classes.num_classes:
            raise ContractError(
                self.path / LABELS_FILE,
                f"class {int(labels.max())} outside 0..{self.classes.num_classes - 1}",
                record=where,
            )
        return labels

    def probs(self, image_id: int) -> np.ndarray:
        """(C, H, W) float32 probabilities."""
        if self._probs is None:
            raise ContractError(
                self.path, "has no probabilities (run infer with --save-probs)", record=f"image {image_id}"
            )
        stored = self._probs[str(int(image_id))]
        if stored.dtype != np.uint8 or stored.shape != (self.classes.num_classes, *self._size(image_id)):
            raise ContractError(
                self.path / PROBS_FILE,
                f"probabilities {stored.dtype}{stored.shape} of the wrong type or shape",
                record=f"image {image_id}",
            )
        return dequantise_probs(stored)

    def close(self) -> None:
        self._labels.close()
        if self._probs is not None:
            self._probs.close()


def validate_predictions(path: Path) -> Predictions:
    """Full check: every listed image has a label map of its size with valid classes."""
    predictions = Predictions(path)
    for image_id in predictions.image_ids:
        predictions.labels(image_id)
        if predictions.has_probs:
            predictions.probs(image_id)
    return predictions
