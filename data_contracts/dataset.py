"""The ``dataset`` contract: images (original bytes), COCO annotations, classes, semantic masks.

Layout of a dataset directory::

    manifest.json        contract "dataset", version, rows, file hashes, producer
    images.parquet       image_id, file_name, width, height, orientation, sha256,
                         image_bytes (the original encoded file), provenance (JSON text)
    annotations.parquet  id, image_id, category_id, area, bbox[4], iscrowd,
                         segmentation (JSON text: polygons or RLE)
    classes.parquet      id, name, r, g, b
    masks.npz            uint8 (height, width) per image, key = str(image_id);
                         absent for unlabeled datasets (a test set)

``width``/``height`` are those of the decoded, oriented image, which is what
annotations and masks refer to. ``orientation`` is the EXIF transposition to
apply when decoding (1 = none); see :func:`data_contracts.images.decode_image`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from trashseg.data_contracts.artifact import ArtifactView, Manifest, read_manifest, write_manifest
from trashseg.data_contracts.classes import IGNORE_INDEX, ClassTable
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.images import decode_image
from trashseg.data_contracts.npz import NpzReader, NpzWriter
from trashseg.data_contracts.tables import read_table, write_table

CONTRACT = "dataset"
VERSION = 1
IMAGES_FILE = "images.parquet"
ANNOTATIONS_FILE = "annotations.parquet"
CLASSES_FILE = "classes.parquet"
MASKS_FILE = "masks.npz"
IMAGES_PER_ROW_GROUP = 1  # one image per row group: random access reads exactly one image's bytes

IMAGES_SCHEMA = pa.schema(
    [
        ("image_id", pa.int64()),
        ("file_name", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("orientation", pa.int8()),
        ("sha256", pa.string()),
        ("image_bytes", pa.binary()),
        ("provenance", pa.string()),
    ]
)
ANNOTATIONS_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("image_id", pa.int64()),
        ("category_id", pa.int32()),
        ("area", pa.float64()),
        ("bbox", pa.list_(pa.float64())),
        ("iscrowd", pa.int8()),
        ("segmentation", pa.string()),
    ]
)
CLASSES_SCHEMA = pa.schema(
    [
        ("id", pa.int32()),
        ("name", pa.string()),
        ("r", pa.uint8()),
        ("g", pa.uint8()),
        ("b", pa.uint8()),
    ]
)
IMAGE_COLUMNS_WITHOUT_BYTES = [n for n in IMAGES_SCHEMA.names if n != "image_bytes"]


@dataclass
class ImageEntry:
    """One image as a stage writes it."""

    image_id: int
    file_name: str
    width: int
    height: int
    image_bytes: bytes
    orientation: int = 1
    provenance: dict[str, Any] | None = None
    mask: np.ndarray | None = None


class DatasetWriter:
    """Stream images (and masks) into a dataset directory, then :meth:`finish`.

    Use inside :func:`data_contracts.artifact.atomic_directory` so a failure
    leaves nothing behind.
    """

    def __init__(self, directory: Path, classes: ClassTable, labeled: bool, producer: dict[str, Any]):
        self.directory = Path(directory)
        self.classes = classes
        self.labeled = labeled
        self.producer = producer
        self._rows: list[dict[str, Any]] = []
        self._parquet = pq.ParquetWriter(
            self.directory / IMAGES_FILE, IMAGES_SCHEMA, compression="zstd", store_schema=False
        )
        self._masks = NpzWriter(self.directory / MASKS_FILE) if labeled else None
        self._ids: set[int] = set()
        self._names: set[str] = set()
        self.count = 0

    def add(self, entry: ImageEntry) -> None:
        where = f"image {entry.image_id}"
        if entry.image_id in self._ids:
            raise ContractError(self.directory / IMAGES_FILE, "duplicate image id", record=where, field="image_id")
        if entry.file_name in self._names:
            raise ContractError(
                self.directory / IMAGES_FILE,
                f"duplicate file_name {entry.file_name!r}",
                record=where,
                field="file_name",
            )
        if self.labeled:
            if entry.mask is None:
                raise ContractError(
                    self.directory / MASKS_FILE, "labeled dataset needs a mask for every image", record=where
                )
            check_mask(
                entry.mask, entry.width, entry.height, self.classes.num_classes, self.directory / MASKS_FILE, where
            )
            self._masks.add(str(entry.image_id), entry.mask)
        self._ids.add(entry.image_id)
        self._names.add(entry.file_name)
        self._rows.append(
            {
                "image_id": int(entry.image_id),
                "file_name": entry.file_name,
                "width": int(entry.width),
                "height": int(entry.height),
                "orientation": int(entry.orientation),
                "sha256": hashlib.sha256(entry.image_bytes).hexdigest(),
                "image_bytes": entry.image_bytes,
                "provenance": json.dumps(entry.provenance, sort_keys=True) if entry.provenance else "",
            }
        )
        self.count += 1
        if len(self._rows) >= IMAGES_PER_ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._parquet.write_table(pa.Table.from_pylist(self._rows, schema=IMAGES_SCHEMA))
            self._rows = []

    def finish(self, annotations: pd.DataFrame | None = None, extra: dict[str, Any] | None = None) -> Manifest:
        """Write the remaining tables and the manifest; returns the manifest."""
        self._flush()
        self._parquet.close()
        if self._masks is not None:
            self._masks.close()
        annotations = empty_annotations() if annotations is None else annotations
        write_table(
            self.directory / ANNOTATIONS_FILE,
            pa.Table.from_pandas(annotations, preserve_index=False),
            ANNOTATIONS_SCHEMA,
        )
        write_table(self.directory / CLASSES_FILE, pa.Table.from_pylist(self.classes.to_records()), CLASSES_SCHEMA)
        files = [IMAGES_FILE, ANNOTATIONS_FILE, CLASSES_FILE] + ([MASKS_FILE] if self.labeled else [])
        manifest = Manifest(
            contract=CONTRACT,
            version=VERSION,
            rows={"images": self.count, "annotations": len(annotations), "masks": self.count if self.labeled else 0},
            files={name: "" for name in files},
            producer=self.producer,
            extra={"labeled": self.labeled, **(extra or {})},
        )
        return write_manifest(self.directory, manifest)


def empty_annotations() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in ANNOTATIONS_SCHEMA.names})


def check_mask(mask: np.ndarray, width: int, height: int, num_classes: int, file: Path, where: str) -> None:
    if mask.dtype != np.uint8:
        raise ContractError(file, f"mask dtype is {mask.dtype}, expected uint8", record=where)
    if mask.shape != (height, width):
        raise ContractError(
            file,
            f"mask shape {mask.shape} differs from the image's (height, width) = ({height}, {width})",
            record=where,
        )
    values = np.flatnonzero(np.bincount(mask.ravel(), minlength=256))  # a histogram: cheaper than sorting for uint8
    bad = values[(values >= num_classes) & (values != IGNORE_INDEX)]
    if bad.size:
        raise ContractError(
            file,
            f"mask values {bad.tolist()} are neither class ids 0..{num_classes - 1} nor {IGNORE_INDEX}",
            record=where,
        )


class Dataset(ArtifactView):
    """A dataset artifact opened for reading: tables in memory, image bytes and masks on demand."""

    def __init__(self, path: Path, *, verify_hashes: bool = True):
        self.path = Path(path)
        self.manifest = read_manifest(self.path, CONTRACT, (VERSION,), verify_hashes=verify_hashes)
        self.labeled = bool(self.manifest.extra.get("labeled", False))
        self.classes = ClassTable.from_records(read_table(self.path / CLASSES_FILE, CLASSES_SCHEMA).to_pylist())
        self.images = read_table(self.path / IMAGES_FILE, IMAGES_SCHEMA, IMAGE_COLUMNS_WITHOUT_BYTES).to_pandas()
        self.annotations = read_table(self.path / ANNOTATIONS_FILE, ANNOTATIONS_SCHEMA).to_pandas()
        self._row_of = {int(i): n for n, i in enumerate(self.images["image_id"])}
        if len(self._row_of) != len(self.images):
            raise ContractError(self.path / IMAGES_FILE, "duplicate image ids", field="image_id")
        # (width, height) per image, once: mask() checks every read against it without a pandas row lookup
        self._size_of = {
            int(i): (int(w), int(h))
            for i, w, h in zip(self.images["image_id"], self.images["width"], self.images["height"])
        }
        self._parquet: pq.ParquetFile | None = None
        self._group_starts: list[int] = []
        self._masks = NpzReader(self.path / MASKS_FILE) if self.labeled else None

    @property
    def image_ids(self) -> list[int]:
        return [int(i) for i in self.images["image_id"]]

    def record(self, image_id: int) -> pd.Series:
        return self.images.iloc[self._row(image_id)]

    def _row(self, image_id: int) -> int:
        try:
            return self._row_of[int(image_id)]
        except KeyError:
            raise ContractError(self.path / IMAGES_FILE, "no such image", record=f"image {image_id}") from None

    def image_bytes(self, image_id: int) -> bytes:
        row = self._row(image_id)
        if self._parquet is None:
            self._parquet = pq.ParquetFile(self.path / IMAGES_FILE)
            starts, total = [], 0
            for group in range(self._parquet.num_row_groups):
                starts.append(total)
                total += self._parquet.metadata.row_group(group).num_rows
            self._group_starts = starts
        group = int(np.searchsorted(self._group_starts, row, side="right") - 1)
        table = self._parquet.read_row_group(group, columns=["image_bytes"])
        return table.column("image_bytes")[row - self._group_starts[group]].as_py()

    def image(self, image_id: int) -> np.ndarray:
        """The decoded (H, W, 3) uint8 image, oriented as the annotations expect."""
        record = self.record(image_id)
        return decode_image(self.image_bytes(image_id), int(record["orientation"]))

    def mask(self, image_id: int) -> np.ndarray:
        """The (H, W) uint8 label map, checked where it is read: the image's size, class ids or 255 only."""
        if self._masks is None:
            raise ContractError(self.path, "dataset is unlabeled: it has no masks", record=f"image {image_id}")
        self._row(image_id)  # an unknown id is the usual "no such image" error
        width, height = self._size_of[int(image_id)]
        mask = self._masks[str(int(image_id))]
        check_mask(mask, width, height, self.classes.num_classes, self.path / MASKS_FILE, f"image {image_id}")
        return mask

    def iter_images(self) -> Iterator[tuple[int, np.ndarray]]:
        for image_id in self.image_ids:
            yield image_id, self.image(image_id)

    def reopen(self) -> None:
        """New file handles for a forked process (a data-loader worker): forked handles share one file offset."""
        self._parquet = None
        self._masks = NpzReader(self.path / MASKS_FILE) if self.labeled else None

    def close(self) -> None:
        if self._masks is not None:
            self._masks.close()


def validate_dataset(path: Path) -> Dataset:
    """Full check: manifest, schemas, ids, image bytes vs sha256, annotations, every mask."""
    dataset = Dataset(path)
    images_file = dataset.path / IMAGES_FILE
    if len(dataset.images) != dataset.manifest.rows.get("images"):
        raise ContractError(
            dataset.path / "manifest.json", "row count differs from images.parquet", field="rows.images"
        )
    if dataset.images["file_name"].duplicated().any():
        dup = dataset.images["file_name"][dataset.images["file_name"].duplicated()].iloc[0]
        raise ContractError(images_file, f"duplicate file_name {dup!r}", field="file_name")
    table = pq.read_table(images_file, columns=["image_id", "sha256", "image_bytes"])
    for image_id, digest, data in zip(*(table.column(c).to_pylist() for c in ("image_id", "sha256", "image_bytes"))):
        if hashlib.sha256(data).hexdigest() != digest:
            raise ContractError(
                images_file, "image_bytes do not match sha256", record=f"image {image_id}", field="sha256"
            )
    ann_file = dataset.path / ANNOTATIONS_FILE
    known = set(dataset.image_ids)
    for row in dataset.annotations.itertuples(index=False):
        where = f"annotation {row.id}"
        if row.image_id not in known:
            raise ContractError(ann_file, f"refers to unknown image {row.image_id}", record=where, field="image_id")
        if not 0 < row.category_id < dataset.classes.num_classes:
            raise ContractError(
                ann_file, f"category {row.category_id} is not an object class", record=where, field="category_id"
            )
    if dataset.annotations["id"].duplicated().any():
        raise ContractError(ann_file, "duplicate annotation ids", field="id")
    if dataset.labeled:
        keys = set(dataset._masks.keys())
        expected = {str(i) for i in dataset.image_ids}
        if keys != expected:
            missing = sorted(expected - keys)[:3]
            extra = sorted(keys - expected)[:3]
            raise ContractError(
                dataset.path / MASKS_FILE, f"mask keys differ from image ids (missing {missing}, extra {extra})"
            )
        for record in dataset.images.itertuples(index=False):
            check_mask(
                dataset.mask(record.image_id),
                record.width,
                record.height,
                dataset.classes.num_classes,
                dataset.path / MASKS_FILE,
                f"image {record.image_id}",
            )
    return dataset
