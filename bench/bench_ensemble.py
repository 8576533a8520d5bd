"""ensemble: the report's per-pixel bincount hard vote vs our vectorised vote (5 models, 819 images at 512x512).

The report's loop is per pixel in Python; it runs on a few images and is scaled to
per-image time. Outputs must agree wherever the report's rule is well defined
(no tie between the top classes).
"""

from __future__ import annotations

import time

import numpy as np

from bench.common import save
from trashseg.components.ensemble.vote import hard_vote


def report_vote(labels: np.ndarray) -> np.ndarray:
    """The notebook's rule: per pixel, np.bincount of the models' labels, argmax (ties: lowest class id)."""
    models, height, width = labels.shape
    out = np.zeros((height, width), dtype=np.uint8)
    for y in range(height):
        for x in range(width):
            out[y, x] = np.bincount(labels[:, y, x]).argmax()
    return out


def synthetic_predictions(rng: np.random.Generator, models: int, size: int) -> np.ndarray:
    truth = rng.choice(11, size=(size // 16, size // 16), p=[0.7] + [0.03] * 10).repeat(16, 0).repeat(16, 1)
    noisy = np.stack(
        [np.where(rng.random((size, size)) < 0.15, rng.integers(0, 11, (size, size)), truth) for _ in range(models)]
    )
    return noisy.astype(np.uint8)


def run(images: int = 819, models: int = 5, size: int = 512, baseline_images: int = 2) -> dict:
    rng = np.random.default_rng(0)
    weights = np.ones(models, dtype=np.int64)
    started, agree, compared = time.perf_counter(), 0, 0
    sample = [synthetic_predictions(rng, models, size) for _ in range(4)]
    for k in range(images):
        hard_vote(sample[k % 4], weights)
    ours_total = time.perf_counter() - started
    base_times = []
    for k in range(baseline_images):
        labels = sample[k]
        t0 = time.perf_counter()
        expected = report_vote(labels)
        base_times.append(time.perf_counter() - t0)
        ours = hard_vote(labels, weights)
        counts = np.stack([(labels == c).sum(0) for c in range(11)])
        top = np.sort(counts, axis=0)
        defined = top[-1] > top[-2]
        agree += int((ours[defined] == expected[defined]).sum())
        compared += int(defined.sum())
    per_image_base = float(np.median(base_times))
    result = {
        "images": images,
        "models": models,
        "size": size,
        "ours_total_s": ours_total,
        "ours_per_image_s": ours_total / images,
        "baseline_per_image_s": per_image_base,
        "baseline_total_s_estimated": per_image_base * images,
        "speedup": per_image_base / (ours_total / images),
        "baseline_images_measured": baseline_images,
        "agreement_where_defined": agree / compared if compared else None,
    }
    save("ensemble", result)
    return result


if __name__ == "__main__":
    print({k: v for k, v in run().items() if not k.startswith("_")})
