"""Training and validation samples drawn from one or more dataset artifacts.

The first dataset is the one the split was made on: its images go to training
or validation by fold. Every further dataset (copy-paste output, pseudo-labels)
is training-only, so nothing generated ever lands in a validation fold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trashseg.components.common.resize import resize_pair
from trashseg.data_contracts.dataset import Dataset
from trashseg.data_contracts.errors import ContractError, ParameterError
from trashseg.data_contracts.split import Split

# Decoded, resized training pairs are cached up to this many bytes (later epochs skip JPEG decoding).
CACHE_LIMIT_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class Sample:
    source: int  # index into the list of datasets
    image_id: int


class SampleSource:
    """Open datasets, the train/validation partition, and a bounded cache of resized pairs."""

    def __init__(self, dataset_dirs: list[Path], split: Split, fold: int):
        if not dataset_dirs:
            raise ParameterError("--dataset", "at least one dataset is needed")
        self.datasets = [Dataset(path) for path in dataset_dirs]
        first = self.datasets[0]
        for dataset in self.datasets:
            if not dataset.labeled:
                raise ContractError(dataset.path, "is unlabeled: training needs masks (pseudo-label it first)")
            if dataset.classes.names != first.classes.names:
                raise ContractError(
                    dataset.path, f"classes {list(dataset.classes.names)} differ from {first.path}'s", field="classes"
                )
        for dataset in self.datasets[1:]:
            made_for = dataset.manifest.extra.get("fold")
            if made_for is not None and (
                made_for != fold or dataset.manifest.extra.get("split_hash") != split.content_hash
            ):
                raise ContractError(
                    dataset.path,
                    f"was made from the training folds of fold {made_for} of another split or fold; "
                    f"using it with fold {fold} would leak validation images into training",
                    field="fold",
                )
        train_ids, validation_ids = split.partition(first.content_hash, first.path, first.image_ids, fold)
        self.train = [Sample(0, i) for i in train_ids]
        self.validation = [Sample(0, i) for i in validation_ids]
        _refuse_validation_images(first, set(validation_ids), self.datasets[1:], fold)
        for source, dataset in enumerate(self.datasets[1:], start=1):
            self.train.extend(Sample(source, i) for i in dataset.image_ids)
        self.classes = first.classes
        self._cache: dict[tuple[Sample, int], tuple[np.ndarray, np.ndarray]] = {}
        self._cache_bytes = 0

    def pair(self, sample: Sample, size: int) -> tuple[np.ndarray, np.ndarray]:
        """(image uint8 SxSx3, mask uint8 SxS) resized for training."""
        key = (sample, size)
        if key in self._cache:
            return self._cache[key]
        dataset = self.datasets[sample.source]
        image, mask = resize_pair(dataset.image(sample.image_id), dataset.mask(sample.image_id), size)
        if self._cache_bytes + image.nbytes + mask.nbytes <= CACHE_LIMIT_BYTES:
            self._cache[key] = (image, mask)
            self._cache_bytes += image.nbytes + mask.nbytes
        return image, mask

    def original(self, sample: Sample) -> tuple[np.ndarray, np.ndarray]:
        dataset = self.datasets[sample.source]
        return dataset.image(sample.image_id), dataset.mask(sample.image_id)

    def reopen(self) -> None:
        """Reopen every dataset's files (called in each data-loader worker after fork)."""
        for dataset in self.datasets:
            dataset.reopen()

    def hashes(self) -> list[str]:
        return [d.content_hash for d in self.datasets]


def _refuse_validation_images(first: Dataset, validation_ids: set[int], extra: list[Dataset], fold: int) -> None:
    """No training-only dataset may hold a validation image, recognised by its bytes' sha256 (ids can be renumbered).

    Catches the same dataset passed twice, a pseudo-labeled copy of validation images,
    or any other artifact that carries them.
    """
    hashes = first.images.set_index("image_id")["sha256"]
    validation = {str(hashes[i]): i for i in validation_ids}
    for dataset in extra:
        for image_id, digest in zip(dataset.images["image_id"], dataset.images["sha256"]):
            if str(digest) in validation:
                raise ContractError(
                    dataset.path,
                    f"holds validation image {validation[str(digest)]} of {first.path} (fold {fold}, "
                    "same bytes): training on it would leak the validation fold into training",
                    record=f"image {int(image_id)}",
                )


def epoch_order(num_samples: int, seed: int, epoch: int) -> np.ndarray:
    """The sample order of an epoch depends only on (seed, epoch): a resumed run sees the same batches."""
    return np.random.default_rng([seed, epoch]).permutation(num_samples)


def flip_decisions(num_samples: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch, 1]).random(num_samples) < 0.5
