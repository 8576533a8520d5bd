"""Data-parallel training under ``torchrun``: process group, device per rank, batch-norm sync, reductions.

Why a module of its own: ``trashseg train`` must run unchanged as one process or
as N processes started by ``torchrun`` (or by a Kubeflow Trainer TrainJob, which
starts torchrun on every node). Everything that differs between the two lives
here; with one process every function is a no-op.

The global batch is ``--batch-size`` whatever the number of processes: each rank
takes its contiguous share of every global batch, gradients are averaged by
DistributedDataParallel, and batch norm uses statistics of the whole global batch
(``SyncBatchNorm`` on GPUs; on CPUs, where PyTorch's SyncBatchNorm refuses to run,
:class:`GlobalBatchNorm` does the same with a differentiable all-reduce). So N
processes compute what one process computes, up to the order of float additions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from trashseg.components.models.family import get_family


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def world_from_env() -> World:
    """Read torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    return World(
        rank=int(os.environ["RANK"]),
        size=size,
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        local_size=int(os.environ.get("LOCAL_WORLD_SIZE", "1")),
    )


def start(world: World, device: torch.device) -> None:
    """Join the process group: NCCL between GPUs, gloo between CPU processes."""
    if world.distributed and not dist.is_initialized():
        dist.init_process_group(
            backend="nccl" if device.type == "cuda" else "gloo", device_id=device if device.type == "cuda" else None
        )


def stop(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def rank_device(world: World, device: torch.device) -> torch.device:
    """One GPU per local rank; CPU processes share the CPU."""
    if device.type == "cuda" and world.distributed:
        torch.cuda.set_device(world.local_rank)
        return torch.device("cuda", world.local_rank)
    return device


class GlobalBatchNorm(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics cover the batches of every rank (CPU stand-in for SyncBatchNorm).

    The per-channel sum, sum of squares and count are summed over ranks with the
    autograd-aware all-reduce, so gradients flow to every rank's inputs exactly
    as in one process holding the whole batch.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        channels = x.shape[1]
        count = torch.full((1,), x.numel() / channels, dtype=x.dtype, device=x.device)
        stats = all_reduce(torch.cat([x.sum((0, 2, 3)), (x * x).sum((0, 2, 3)), count]))
        total = stats[-1]
        mean = stats[:channels] / total
        var = stats[channels : 2 * channels] / total - mean * mean
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.mul_(1 - momentum).add_(mean.detach(), alpha=momentum)
                self.running_var.mul_(1 - momentum).add_(var.detach() * total / (total - 1), alpha=momentum)
        shape = (1, channels, 1, 1)
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


def _to_global_batchnorm(module: nn.Module) -> nn.Module:
    if isinstance(module, nn.BatchNorm2d) and not isinstance(module, GlobalBatchNorm):
        replacement = GlobalBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats
        )
        replacement.load_state_dict(module.state_dict())
        return replacement
    for name, child in module.named_children():
        setattr(module, name, _to_global_batchnorm(child))
    return module


def sync_batchnorm(model: nn.Module, world: World, device: torch.device) -> nn.Module:
    """Batch norm over the global batch (before compiling: the graph must see the final modules)."""
    if not world.distributed:
        return model
    return nn.SyncBatchNorm.convert_sync_batchnorm(model) if device.type == "cuda" else _to_global_batchnorm(model)


def data_parallel(model: nn.Module, device: torch.device, family: str) -> nn.Module:
    """DistributedDataParallel in the process group already started (gradients averaged over ranks).

    Gradients live in the all-reduce buckets (no copy per step); Mask2Former may leave
    some queries' parameters without a gradient in a step, so unused ones are searched for.
    """
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(
        model,
        device_ids=[device.index or 0] if device.type == "cuda" else None,
        find_unused_parameters=get_family(family).set_prediction,
        gradient_as_bucket_view=True,
    )


def wrap(model: nn.Module, world: World, device: torch.device, family: str) -> nn.Module:
    """``data_parallel`` under torchrun; the model itself when alone."""
    return data_parallel(model, device, family) if world.distributed else model


def all_ranks(flag: bool, world: World, device: torch.device) -> bool:
    """True when ``flag`` holds on some rank: every rank must take the same branch, or collectives hang."""
    if not world.distributed:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value)
    return bool(value.item() > 0)


def shard(items: list, world: World) -> list:
    """This rank's contiguous share of a global batch (the batch size must divide by the world size)."""
    share = len(items) // world.size
    return items[world.rank * share : (world.rank + 1) * share]


def strided(items: list, world: World) -> list:
    """Every world.size-th item from this rank's offset: an even split of a list of any length (validation)."""
    return items[world.rank :: world.size]


def sum_array(array: np.ndarray, world: World) -> np.ndarray:
    """Element-wise sum over ranks (confusion matrices: validation mIoU over the whole fold)."""
    if not world.distributed:
        return array
    tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float64))
    if dist.get_backend() == "nccl":
        tensor = tensor.cuda()
    dist.all_reduce(tensor)
    return tensor.cpu().numpy().astype(array.dtype)


def mean_tensor(value: torch.Tensor, world: World) -> torch.Tensor:
    """Mean over ranks of a tensor (the epoch's losses)."""
    if not world.distributed:
        return value
    value = value.clone()
    dist.all_reduce(value)
    return value / world.size
