"""Per-pixel training losses for the dense-prediction families (UperNet, BEiT).

Why not only the model's own cross-entropy: on trash photos most pixels are
Background (about 92% of TACO's), so plain cross-entropy is smallest when the
model predicts Background everywhere, and a small model from random weights sits
there for many epochs (measured: validation mIoU stays at the all-Background
0.08 for 10-15 epochs on the sample data, bench/bench_recipe.py). A soft Dice
term is computed per class and averaged over the classes present, so a rare
class's pixels weigh as much as Background's from the first step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from trashseg.data_contracts.classes import IGNORE_INDEX

# "model": the model's own loss (cross-entropy, + its auxiliary head's); "ce_dice": that plus soft Dice on the main
# head;
# "weighted_ce": cross-entropy weighted by inverse class frequency in the batch (measured, not the default anywhere).
LOSSES = ("model", "ce_dice", "weighted_ce")


def soft_dice(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """1 - soft Dice per class over the batch, averaged over the classes that occur in ``labels`` (ignored pixels left
    out)."""
    classes = logits.shape[1]
    valid = labels != IGNORE_INDEX
    probs = logits.float().softmax(1) * valid[:, None]
    onehot = F.one_hot(torch.where(valid, labels, 0), classes).permute(0, 3, 1, 2).to(probs.dtype) * valid[:, None]
    overlap = (probs * onehot).sum((0, 2, 3))
    sizes = probs.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    present = onehot.sum((0, 2, 3)) > 0
    dice = 1 - (2 * overlap + 1) / (sizes + 1)
    return (dice * present).sum() / present.sum().clamp_min(1)


def weighted_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy with each class weighted by its inverse pixel frequency in the batch (capped at 50x)."""
    valid = labels[labels != IGNORE_INDEX]
    counts = torch.bincount(valid.flatten(), minlength=logits.shape[1]).float()
    weights = (counts.sum() / (counts + 1)).clamp(max=50)
    weights = weights / weights[counts > 0].mean().clamp_min(1e-6)
    return F.cross_entropy(logits.float(), labels, weight=weights, ignore_index=IGNORE_INDEX)


def _at_label_size(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Logits upsampled bilinearly to the labels' size where smaller (BEiT predicts at a quarter), as the models' own
    losses do."""
    if logits.shape[-2:] != labels.shape[-2:]:
        logits = F.interpolate(logits, size=labels.shape[-2:], mode="bilinear", align_corners=False)
    return logits


def dense_loss(model: torch.nn.Module, pixel_values: torch.Tensor, labels: torch.Tensor, loss: str) -> torch.Tensor:
    """``loss`` for a model that predicts one score map per class (UperNet, BEiT).

    "ce_dice" keeps the model's own loss (main and auxiliary cross-entropy) and adds soft Dice on the main head;
    "weighted_ce" replaces it by the class-weighted cross-entropy of the main head.
    """
    if loss == "model":
        return model(pixel_values=pixel_values, labels=labels).loss
    if loss == "ce_dice":
        outputs = model(pixel_values=pixel_values, labels=labels)
        return outputs.loss + soft_dice(_at_label_size(outputs.logits, labels), labels)
    if loss == "weighted_ce":
        return weighted_cross_entropy(_at_label_size(model(pixel_values=pixel_values).logits, labels), labels)
    raise ValueError(f"unknown loss {loss!r} ({', '.join(LOSSES)})")
