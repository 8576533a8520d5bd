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


def paint_semantic_mask(
    rles: list[dict], class_ids: Sequence[int], areas: Sequence[float], ids: Sequence[int], height: int, width: int
) -> np.ndarray:
    """Paint every annotation's class, largest first, so a cap stays visible on its bottle.

    The label map is painted in Fortran order, the layout pycocotools decodes
    to, so each annotation costs one decode and one masked copy, no transposes.
    """
    label = np.zeros((height, width), dtype=np.uint8, order="F")
    for k in paint_order(areas, ids):
        np.copyto(label, np.uint8(class_ids[k]), where=mask_utils.decode(rles[k]).view(bool))
    return np.ascontiguousarray(label)
