"""COCO segmentations -> one semantic label map per image, through pycocotools."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from pycocotools import mask as mask_utils


def to_rle(segmentation: Any, height: int, width: int) -> dict:
    """Polygons, uncompressed RLE or compressed RLE -> one compressed RLE (pycocotools' rules)."""
    if isinstance(segmentation, list):
        return mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    if isinstance(segmentation.get("counts"), list):
        return mask_utils.frPyObjects(segmentation, height, width)
    counts = segmentation["counts"]
    return {"size": list(segmentation["size"]), "counts": counts.encode() if isinstance(counts, str) else counts}


def paint_order(areas: Sequence[float], ids: Sequence[int]) -> list[int]:
    """Indices in descending area (ties by annotation id): small objects end up on top."""
    return sorted(range(len(areas)), key=lambda k: (-areas[k], ids[k]))


def paint_semantic_mask(rles: list[dict], class_ids: Sequence[int], areas: Sequence[float], ids: Sequence[int],
                        height: int, width: int) -> np.ndarray:
    """Paint every annotation's class, largest first, so a cap stays visible on its bottle.

    All RLEs are decoded in one pycocotools call; each pixel then takes the class
    of the last annotation (in painting order) that covers it.
    """
    label = np.zeros((height, width), dtype=np.uint8)
    if not rles:
        return label
    order = paint_order(areas, ids)
    stack = mask_utils.decode([rles[k] for k in order])  # (H, W, N) uint8, Fortran order
    classes = np.asarray([class_ids[k] for k in order], dtype=np.uint8)
    # Index of the last covering annotation = N-1 - first hit scanning backwards.
    reversed_hits = stack[:, :, ::-1].astype(bool, copy=False)
    covered = reversed_hits.any(axis=2)
    last = stack.shape[2] - 1 - reversed_hits.argmax(axis=2)
    label[covered] = classes[last[covered]]
    return label
