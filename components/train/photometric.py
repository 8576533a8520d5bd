"""Optional training augmentations beyond flips, off by default (the report found they did not help).

Each is deterministic for (seed, epoch, sample), so a resumed run sees the same pixels.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

AUGMENTATIONS = ("brightness_contrast", "hue_saturation", "noise", "random_resized_crop")


def _brightness_contrast(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    contrast, brightness = rng.uniform(0.8, 1.2), rng.uniform(-25, 25)
    mean = image.mean()
    return np.clip((image.astype(np.float32) - mean) * contrast + mean + brightness, 0, 255).astype(np.uint8)


def _hue_saturation(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    hsv = np.asarray(Image.fromarray(image).convert("HSV")).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + int(rng.integers(-10, 11))) % 256
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.8, 1.2), 0, 255)
    return np.asarray(Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB"))


def _noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(image.astype(np.float32) + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)


def _random_resized_crop(
    image: np.ndarray, mask: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Crop 50-100% of the area, then resize back (mask nearest, so class ids are never blended)."""
    height, width = mask.shape
    scale = rng.uniform(0.5, 1.0)
    crop_h, crop_w = max(8, int(height * np.sqrt(scale))), max(8, int(width * np.sqrt(scale)))
    top, left = int(rng.integers(0, height - crop_h + 1)), int(rng.integers(0, width - crop_w + 1))
    image = np.asarray(
        Image.fromarray(image[top : top + crop_h, left : left + crop_w]).resize((width, height), Image.BILINEAR)
    )
    mask = np.asarray(
        Image.fromarray(mask[top : top + crop_h, left : left + crop_w]).resize((width, height), Image.NEAREST)
    )
    return image, mask


def augment(
    image: np.ndarray, mask: np.ndarray, names: tuple[str, ...], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    for name in names:
        if name == "random_resized_crop":
            image, mask = _random_resized_crop(image, mask, rng)
        elif name == "brightness_contrast":
            image = _brightness_contrast(image, rng)
        elif name == "hue_saturation":
            image = _hue_saturation(image, rng)
        elif name == "noise":
            image = _noise(image, rng)
    return image, mask
