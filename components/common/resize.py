"""Resizing an image with its mask the one safe way: the image bilinear, the mask nearest (class ids never blend)."""

from __future__ import annotations

import numpy as np
from PIL import Image


def resize_pair(image: np.ndarray, mask: np.ndarray | None, size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Image bilinear, mask nearest (class ids are never interpolated)."""
    if image.shape[:2] != (size, size):
        image = np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))
        if mask is not None:
            mask = np.asarray(Image.fromarray(mask).resize((size, size), Image.NEAREST))
    return image, mask
