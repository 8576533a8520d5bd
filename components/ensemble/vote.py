"""The voting rules, vectorised over whole label maps.

Hard vote tie rule (documented and deterministic): among the classes with the
most (weighted) votes at a pixel, the class predicted by the earliest-listed
model wins. Computed as: for each model, the total weight of models agreeing
with it at each pixel; the pixel takes the label of the first model with the
highest agreement. That costs M^2 comparisons per pixel and no per-class
arrays, so 5 models x 819 images x 512^2 takes seconds.
"""

from __future__ import annotations

import numpy as np


def hard_vote(labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """labels (M, H, W) uint8, weights (M,) -> (H, W) uint8."""
    models = labels.shape[0]
    if models == 1:
        return labels[0].copy()
    support = np.zeros(labels.shape, dtype=np.float64 if weights.dtype.kind == "f" else np.int64)
    for m in range(models):
        for other in range(models):
            if other == m:
                support[m] += weights[m]
            else:
                support[m] += weights[other] * (labels[other] == labels[m])
    winner = support.argmax(axis=0)  # argmax returns the first maximum: the earliest model
    return np.take_along_axis(labels, winner[None], axis=0)[0]


def soft_vote(probs: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """Weighted mean of (C, H, W) probabilities -> (C, H, W); argmax ties go to the lowest class id."""
    total = np.zeros_like(probs[0], dtype=np.float32)
    for p, w in zip(probs, weights):
        total += np.float32(w) * p
    return total / np.float32(weights.sum())
