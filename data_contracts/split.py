"""The ``split`` contract: image_id -> fold, with per-fold class statistics.

Layout::

    manifest.json        contract "split"; extra: folds, seed, dataset_hash
    folds.parquet        image_id, fold
    fold_stats.parquet   fold (-1 = whole set), class_id, class_name,
                         annotations, annotation_share, pixels, pixel_share
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from trashseg.data_contracts.artifact import ArtifactView, Manifest, read_manifest, write_manifest
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.tables import read_table, write_table

CONTRACT = "split"
VERSION = 1
FOLDS_FILE = "folds.parquet"
STATS_FILE = "fold_stats.parquet"
WHOLE_SET = -1

FOLDS_SCHEMA = pa.schema([("image_id", pa.int64()), ("fold", pa.int32())])
STATS_SCHEMA = pa.schema(
    [
        ("fold", pa.int32()),
        ("class_id", pa.int32()),
        ("class_name", pa.string()),
        ("images", pa.int64()),
        ("annotations", pa.int64()),
        ("annotation_share", pa.float64()),
        ("pixels", pa.int64()),
        ("pixel_share", pa.float64()),
    ]
)


class Split(ArtifactView):
    def __init__(self, path: Path):
        self.path = Path(path)
        self.manifest = read_manifest(self.path, CONTRACT, (VERSION,))
        self.folds = read_table(self.path / FOLDS_FILE, FOLDS_SCHEMA).to_pandas()
        self.stats = read_table(self.path / STATS_FILE, STATS_SCHEMA).to_pandas()
        self.num_folds = int(self.manifest.extra["folds"])
        self.seed = int(self.manifest.extra["seed"])
        self.dataset_hash = str(self.manifest.extra["dataset_hash"])
        bad = self.folds[(self.folds["fold"] < 0) | (self.folds["fold"] >= self.num_folds)]
        if len(bad):
            raise ContractError(
                self.path / FOLDS_FILE,
                f"fold {bad['fold'].iloc[0]} outside 0..{self.num_folds - 1}",
                record=f"image {bad['image_id'].iloc[0]}",
                field="fold",
            )
        if self.folds["image_id"].duplicated().any():
            raise ContractError(self.path / FOLDS_FILE, "an image appears twice", field="image_id")

    def fold_of(self) -> dict[int, int]:
        return dict(zip(self.folds["image_id"].astype(int), self.folds["fold"].astype(int)))

    def check_fold(self, fold: int) -> None:
        if not 0 <= fold < self.num_folds:
            raise ContractError(
                self.path, f"fold {fold} does not exist (this split has folds 0..{self.num_folds - 1})", field="fold"
            )

    def check_dataset(self, dataset_hash: str, dataset_path: Path) -> None:
        """A split belongs to one dataset: refuse to apply it to another."""
        if dataset_hash != self.dataset_hash:
            raise ContractError(
                self.path,
                f"was made for dataset {self.dataset_hash[:12]}, not {dataset_path} ({dataset_hash[:12]})",
                field="dataset_hash",
            )

    def partition(
        self, dataset_hash: str, dataset_path: Path, image_ids: list[int], fold: int
    ) -> tuple[list[int], list[int]]:
        """(training ids, validation ids) of ``fold``, in the dataset's order: the one place that checks the pair.

        The split must belong to the dataset, the fold must exist, and every image of
        the dataset must have a fold: an image the split does not know is an error
        naming it (never silently dropped or added to either side).
        """
        self.check_dataset(dataset_hash, dataset_path)
        self.check_fold(fold)
        fold_of = self.fold_of()
        unknown = [i for i in image_ids if i not in fold_of]
        if unknown:
            raise ContractError(
                self.path / FOLDS_FILE,
                f"has no fold for image {unknown[0]} of {dataset_path}",
                record=f"image {unknown[0]}",
            )
        return [i for i in image_ids if fold_of[i] != fold], [i for i in image_ids if fold_of[i] == fold]


def write_split(
    directory: Path,
    folds: pd.DataFrame,
    stats: pd.DataFrame,
    num_folds: int,
    seed: int,
    dataset_hash: str,
    producer: dict[str, Any],
) -> Manifest:
    directory = Path(directory)
    write_table(directory / FOLDS_FILE, pa.Table.from_pandas(folds, preserve_index=False), FOLDS_SCHEMA)
    write_table(directory / STATS_FILE, pa.Table.from_pandas(stats, preserve_index=False), STATS_SCHEMA)
    manifest = Manifest(
        contract=CONTRACT,
        version=VERSION,
        rows={"images": len(folds), "stats": len(stats)},
        files={FOLDS_FILE: "", STATS_FILE: ""},
        producer=producer,
        extra={"folds": num_folds, "seed": seed, "dataset_hash": dataset_hash},
    )
    return write_manifest(directory, manifest)


def read_split(path: Path) -> Split:
    return Split(path)
