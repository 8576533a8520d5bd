"""AdamW with a small backbone learning rate beside a larger head one, linear warmup, then decay (transformers' own
schedules, the ones its Trainer uses).

The report's small backbone rate beside a ten times larger head rate beat a single rate: pretrained
features need only nudging while the new head learns from scratch.
"""

from __future__ import annotations

import math

import torch
from transformers import get_scheduler

from trashseg.components.models.family import get_family


def parameter_groups(
    model: torch.nn.Module, family: str, lr_backbone: float, lr_head: float, weight_decay: float
) -> list[dict]:
    prefixes = get_family(family).backbone_prefixes
    backbone, head = [], []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (backbone if name.startswith(prefixes) else head).append(parameter)
    if not backbone or not head:
        raise RuntimeError(f"parameter split failed for {family}: {len(backbone)} backbone, {len(head)} head tensors")
    return [
        {"name": "backbone", "params": backbone, "lr": lr_backbone, "weight_decay": weight_decay},
        {"name": "head", "params": head, "lr": lr_head, "weight_decay": weight_decay},
    ]


# Our schedule names -> transformers' (each with linear warmup): "poly" is the report's polynomial decay of power 1.
SCHEDULES = {"poly": "linear", "cosine": "cosine", "constant": "constant_with_warmup"}


def scaled_lr(base_lr: float, base_batch: int, batch: int) -> float:
    """The preset's learning rate moved to another batch size by the square-root rule.

    For Adam-type optimizers, lr proportional to sqrt(batch) keeps the update's
    noise scale (Malladi et al., 2022, "On the SDEs and scaling rules for adaptive
    gradient algorithms"); the linear rule of SGD overshoots with AdamW.
    An explicitly given learning rate is never scaled.
    """
    return base_lr * math.sqrt(batch / base_batch)


def make_optimizer(
    model: torch.nn.Module,
    family: str,
    lr_backbone: float,
    lr_head: float,
    weight_decay: float,
    total_steps: int,
    warmup_steps: int,
    schedule: str,
    fused: bool = False,
):
    """AdamW + schedule. ``fused`` (GPU) updates every parameter in one kernel; the CPU keeps the reference
    implementation, so resumed CPU runs stay bit-identical to their checkpoints."""
    optimizer = torch.optim.AdamW(parameter_groups(model, family, lr_backbone, lr_head, weight_decay), fused=fused)
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r} ({', '.join(SCHEDULES)})")
    scheduler = get_scheduler(
        SCHEDULES[schedule], optimizer, num_warmup_steps=warmup_steps, num_training_steps=total_steps
    )
    return optimizer, scheduler
