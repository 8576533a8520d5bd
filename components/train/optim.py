"""AdamW with a small backbone learning rate beside a larger head one, linear warmup, then decay.

The report's 4e-6 (backbone) / 4e-5 (head) beat a single 6e-5: pretrained
features need only nudging while the new head learns from scratch.
"""

from __future__ import annotations

import math

import torch

from components.models.build import backbone_prefixes


def parameter_groups(model: torch.nn.Module, family: str, lr_backbone: float, lr_head: float, weight_decay: float) -> list[dict]:
    prefixes = backbone_prefixes(family)
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


def lr_factor(step: int, total_steps: int, warmup_steps: int, schedule: str, power: float = 1.0) -> float:
    """Multiplier of the base learning rates at ``step`` (0-based)."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if schedule == "poly":
        return (1.0 - progress) ** power
    if schedule == "constant":
        return 1.0
    raise ValueError(f"unknown schedule {schedule!r} (poly, cosine, constant)")


def scaled_lr(base_lr: float, base_batch: int, batch: int) -> float:
    """The preset's learning rate moved to another batch size by the square-root rule.

    For Adam-type optimizers, lr proportional to sqrt(batch) keeps the update's
    noise scale (Malladi et al., 2022, "On the SDEs and scaling rules for adaptive
    gradient algorithms"); the linear rule of SGD overshoots with AdamW.
    An explicitly given learning rate is never scaled.
    """
    return base_lr * math.sqrt(batch / base_batch)


def make_optimizer(model: torch.nn.Module, family: str, lr_backbone: float, lr_head: float, weight_decay: float,
                   total_steps: int, warmup_steps: int, schedule: str, fused: bool = False):
    """AdamW + schedule. ``fused`` (GPU) updates every parameter in one kernel; the CPU keeps the reference
    implementation, so resumed CPU runs stay bit-identical to their checkpoints."""
    optimizer = torch.optim.AdamW(parameter_groups(model, family, lr_backbone, lr_head, weight_decay), fused=fused)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, total_steps, warmup_steps, schedule))
    return optimizer, scheduler
