"""Training batches through a ``torch.utils.data.DataLoader``: worker processes decode and resize, pinned memory.

Why: on a GPU the step is faster than one Python process decoding JPEGs, so the
GPU would wait for data. Workers prepare the next batches while the GPU trains.
Every random choice (order, flips, augmentation seeds) is drawn from
(seed, epoch, image position) in the main process or from per-sample seeds, so
the batches are the same with 0 or 16 workers, and a resumed run sees the same
batches as an uninterrupted one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler, get_worker_info

from trashseg.components.models.forward import normalise
from trashseg.components.train import photometric
from trashseg.components.train.data import Sample, SampleSource, epoch_order, flip_decisions
from trashseg.components.train.distributed import World, shard
from trashseg.data_contracts.classes import IGNORE_INDEX


@dataclass(frozen=True)
class Item:
    """One training sample of one epoch, with the random choices already made."""

    position: int  # index into SampleSource.train
    flip: bool
    epoch: int


class EpochBatches(Sampler[list[Item]]):
    """The batches of the current epoch (``set_epoch`` before iterating); the last partial batch is dropped."""

    def __init__(self, num_samples: int, batch_size: int, steps: int, seed: int, hflip: bool, world: World = World()):
        self.num_samples, self.batch_size, self.steps, self.seed, self.hflip = (
            num_samples,
            batch_size,
            steps,
            seed,
            hflip,
        )
        self.world = world  # under torchrun each rank takes its share of every global batch
        self.epoch = 1

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[list[Item]]:
        order = epoch_order(self.num_samples, self.seed, self.epoch)
        flips = (
            flip_decisions(self.num_samples, self.seed, self.epoch) if self.hflip else np.zeros(self.num_samples, bool)
        )
        for step in range(self.steps):
            index = order[step * self.batch_size : (step + 1) * self.batch_size]
            yield shard([Item(int(i), bool(flips[i]), self.epoch) for i in index], self.world)


class TrainingPairs(torch.utils.data.Dataset):
    """Item -> (image uint8 HxWx3, mask uint8 HxW) at the training size, flipped and augmented."""

    def __init__(self, source: SampleSource, size: int, seed: int, augmentations: tuple[str, ...]):
        self.source, self.size, self.seed, self.augmentations = source, size, seed, augmentations

    def __len__(self) -> int:
        return len(self.source.train)

    def __getitem__(self, item: Item) -> tuple[np.ndarray, np.ndarray]:
        sample: Sample = self.source.train[item.position]
        image, mask = self.source.pair(sample, self.size)
        if item.flip:
            image, mask = image[:, ::-1], mask[:, ::-1]
        if self.augmentations:
            rng = np.random.default_rng([self.seed, item.epoch, 2, item.position])
            image, mask = photometric.augment(
                np.ascontiguousarray(image), np.ascontiguousarray(mask), self.augmentations, rng
            )
        return np.ascontiguousarray(image), np.ascontiguousarray(mask)


def collate(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Stack a batch; the flag says whether any pixel is labeled (checked here, on the host, not on the GPU)."""
    masks = np.stack([m for _, m in pairs])
    return (
        torch.from_numpy(np.stack([i for i, _ in pairs])),
        torch.from_numpy(masks),
        bool((masks != IGNORE_INDEX).any()),
    )


def _reopen_in_worker(_: int) -> None:
    """A forked worker shares file offsets with its parent: give it its own handles."""
    info = get_worker_info()
    info.dataset.source.reopen()


def default_workers(device: torch.device, processes_here: int = 1) -> int:
    """CPU training keeps the cores for the model; each GPU gets up to 8 decoding workers from the cores it shares."""
    if device.type != "cuda":
        return 0
    return max(1, min(8, ((os.cpu_count() or 2) - 2) // processes_here))


def make_loader(
    source: SampleSource,
    size: int,
    batches: EpochBatches,
    seed: int,
    augmentations: tuple[str, ...],
    workers: int,
    device: torch.device,
) -> DataLoader:
    return DataLoader(
        TrainingPairs(source, size, seed, augmentations),
        batch_sampler=batches,
        collate_fn=collate,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        prefetch_factor=4 if workers > 0 else None,
        worker_init_fn=_reopen_in_worker if workers > 0 else None,
    )


def to_device(pixels: torch.Tensor, labels: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 batches to the device without blocking (4x fewer bytes than floats), normalised and widened there."""
    return normalise(pixels.to(device, non_blocking=True)), labels.to(device, non_blocking=True).long()
