"""Decoding stored image bytes the one way every stage agrees on."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

# EXIF orientation value -> the PIL transposition that shows the image upright
# (the same table as PIL.ImageOps.exif_transpose).
_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Refuse images whose header promises more pixels than this (decompression bombs).
DEFAULT_MAX_PIXELS = 64_000_000


def oriented_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    """(width, height) after applying an EXIF orientation (5..8 swap the axes)."""
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def decode_image(data: bytes, orientation: int = 1) -> np.ndarray:
    """Encoded bytes -> (H, W, 3) uint8 RGB, with the stored orientation applied.

    ``orientation`` is what ingest decided the annotations refer to (1 = the
    pixels as stored), so masks and decoded images always line up.
    """
    with Image.open(io.BytesIO(data)) as image:
        image = image.convert("RGB")
        transpose = _ORIENTATION_TRANSPOSE.get(int(orientation))
        if transpose is not None:
            image = image.transpose(transpose)
        return np.asarray(image, dtype=np.uint8)
