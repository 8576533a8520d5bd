"""Cutting instances out, scaling and rotating them, and pasting them onto a canvas."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from trashseg.components.common.masks import to_rle


@dataclass
class Piece:
    """One instance cut out of a training image: its pixels and its own (instance) mask."""

    source_image: int
    annotation_id: int
    class_id: int
    image: np.ndarray  # (h, w, 3) uint8, the instance's bounding box
    mask: np.ndarray  # (h, w) bool, the instance's pixels inside it


def cut_piece(image: np.ndarray, segmentation, image_id: int, annotation_id: int, class_id: int) -> Piece | None:
    """The instance from its own annotation (not the semantic mask, which may have it partly covered)."""
    height, width = image.shape[:2]
    instance = mask_utils.decode(to_rle(segmentation, height, width)).astype(bool)
    rows, cols = np.nonzero(instance)
    if rows.size < 4:
        return None
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    return Piece(
        image_id, annotation_id, class_id, image[top:bottom, left:right].copy(), instance[top:bottom, left:right].copy()
    )


def transform_piece(piece: Piece, scale: float, angle: float, max_side: int) -> tuple[np.ndarray, np.ndarray]:
    """Scale (capped so it fits the canvas) and rotate; the mask is resampled nearest, never blended."""
    h, w = piece.mask.shape
    scale = min(scale, max_side / max(h, w))
    new_size = (max(1, round(w * scale)), max(1, round(h * scale)))
    image = Image.fromarray(piece.image).resize(new_size, Image.BILINEAR).rotate(angle, Image.BILINEAR, expand=True)
    mask = (
        Image.fromarray(piece.mask.astype(np.uint8) * 255)
        .resize(new_size, Image.NEAREST)
        .rotate(angle, Image.NEAREST, expand=True)
    )
    mask_array = np.asarray(mask) > 127
    image_array = np.asarray(image)
    if mask_array.shape[0] > max_side or mask_array.shape[1] > max_side:  # rotation grew it past the canvas
        return transform_piece(piece, scale * max_side / max(mask_array.shape) * 0.95, angle, max_side)
    return image_array, mask_array


def paste(
    canvas: np.ndarray,
    canvas_mask: np.ndarray,
    piece_image: np.ndarray,
    piece_mask: np.ndarray,
    class_id: int,
    top: int,
    left: int,
) -> np.ndarray:
    """Paste in place; returns the pasted instance's full-size boolean mask."""
    h, w = piece_mask.shape
    region = (slice(top, top + h), slice(left, left + w))
    canvas[region][piece_mask] = piece_image[piece_mask]
    canvas_mask[region][piece_mask] = class_id
    full = np.zeros(canvas_mask.shape, dtype=bool)
    full[region] = piece_mask
    return full
