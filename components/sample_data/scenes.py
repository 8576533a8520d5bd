"""Synthetic trash scenes: each class has its own shape, colour and texture.

The point is a dataset a small model can actually learn in minutes on a CPU, so
each class is visually distinct, and Battery and Clothing are rare, as in the
competition data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

Points = list[tuple[float, float]]


@dataclass(frozen=True)
class ClassStyle:
    """How one class looks: outline generator, base colour, texture, opacity, size, frequency."""

    shape: str
    colour: tuple[int, int, int]
    texture: str
    alpha: float
    size: tuple[float, float]  # radius as a fraction of the image side
    weight: float  # relative frequency


STYLES: dict[int, ClassStyle] = {
    1: ClassStyle("blob", (90, 75, 60), "speckle", 1.0, (0.08, 0.16), 1.0),  # General trash
    2: ClassStyle("rect", (235, 235, 225), "hlines", 1.0, (0.10, 0.18), 1.0),  # Paper
    3: ClassStyle("box", (185, 140, 85), "vstripes", 1.0, (0.09, 0.15), 0.8),  # Paper pack
    4: ClassStyle("circle", (170, 175, 185), "radial", 1.0, (0.07, 0.12), 1.0),  # Metal
    5: ClassStyle("bottle", (40, 150, 70), "flat", 0.7, (0.10, 0.17), 0.8),  # Glass
    6: ClassStyle("hexagon", (40, 90, 220), "flat", 1.0, (0.08, 0.14), 1.0),  # Plastic
    7: ClassStyle("rounded", (250, 250, 250), "dots", 1.0, (0.08, 0.13), 0.6),  # Styrofoam
    8: ClassStyle("wavy", (235, 220, 120), "flat", 0.55, (0.14, 0.22), 0.8),  # Plastic bag
    9: ClassStyle("rect", (20, 20, 20), "band", 1.0, (0.05, 0.08), 0.15),  # Battery (rare)
    10: ClassStyle("blob", (200, 30, 40), "checker", 1.0, (0.16, 0.24), 0.15),  # Clothing (rare)
}


def _polygon(rng: np.random.Generator, shape: str, cx: float, cy: float, r: float) -> Points:
    angle0 = rng.uniform(0, 2 * math.pi)
    if shape == "circle":
        return [
            (cx + r * math.cos(angle0 + 2 * math.pi * k / 20), cy + r * math.sin(angle0 + 2 * math.pi * k / 20))
            for k in range(20)
        ]
    if shape == "hexagon":
        return [
            (cx + r * math.cos(angle0 + math.pi * k / 3), cy + r * math.sin(angle0 + math.pi * k / 3)) for k in range(6)
        ]
    if shape in ("rect", "box", "bottle", "rounded"):
        aspect = {"rect": 0.55, "box": 0.85, "bottle": 0.35, "rounded": 0.8}[shape]
        half_w, half_h = r, r * aspect
        if shape == "rounded":
            corners = []
            for sx, sy, start in ((1, 1, 0), (-1, 1, 90), (-1, -1, 180), (1, -1, 270)):
                ccx, ccy, cr = sx * half_w * 0.7, sy * half_h * 0.7, 0.3 * min(half_w, half_h) * 1.5
                corners += [
                    (ccx + cr * math.cos(math.radians(start + a)), ccy + cr * math.sin(math.radians(start + a)))
                    for a in (0, 45, 90)
                ]
            local = corners
        else:
            local = [(half_w, half_h), (-half_w, half_h), (-half_w, -half_h), (half_w, -half_h)]
        c, s = math.cos(angle0), math.sin(angle0)
        return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in local]
    # blob / wavy: a star-shaped polygon with random radii
    count = 9 if shape == "blob" else 14
    radii = (
        rng.uniform(0.6, 1.0, count)
        if shape == "blob"
        else 1.0 + 0.25 * np.sin(np.arange(count) * 2.2 + rng.uniform(0, 6))
    )
    return [
        (
            cx + r * radii[k] * math.cos(angle0 + 2 * math.pi * k / count),
            cy + r * radii[k] * math.sin(angle0 + 2 * math.pi * k / count),
        )
        for k in range(count)
    ]


def _texture(rng: np.random.Generator, style: ClassStyle, size: int) -> np.ndarray:
    """A full-canvas (H, W, 3) float texture for the class; only the object's pixels are used."""
    base = np.broadcast_to(np.asarray(style.colour, dtype=np.float32), (size, size, 3)).copy()
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    textures: dict[str, Callable[[], np.ndarray]] = {
        "flat": lambda: base,
        "speckle": lambda: base + rng.normal(0, 25, (size, size, 1)),
        "hlines": lambda: base - 110 * ((yy.astype(int) // 3) % 3 == 0)[..., None],
        "vstripes": lambda: base - 60 * ((xx.astype(int) // 4) % 2 == 0)[..., None],
        "radial": lambda: base + 60 * np.cos((xx + yy) / 3.0)[..., None],
        "dots": lambda: base - 80 * (rng.random((size, size, 1)) < 0.12),
        "band": lambda: np.where(((xx + yy).astype(int) // 6 % 3 == 0)[..., None], np.float32([240, 140, 20]), base),
        "checker": lambda: base + 70 * (((xx.astype(int) // 5) + (yy.astype(int) // 5)) % 2 == 0)[..., None],
    }
    return textures[style.texture]()


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Muted gradient floors with noise and the occasional tile grid."""
    c0 = rng.uniform(60, 170, 3)
    c1 = c0 + rng.uniform(-50, 50, 3)
    t = np.linspace(0, 1, size, dtype=np.float32)
    direction = rng.integers(0, 2)
    ramp = t[None, :, None] if direction else t[:, None, None]
    canvas = c0 * (1 - ramp) + c1 * ramp + rng.normal(0, 8, (size, size, 1))
    if rng.random() < 0.4:
        step = int(rng.integers(12, 32))
        grid = np.zeros((size, size), dtype=bool)
        grid[::step, :] = True
        grid[:, ::step] = True
        canvas[grid] -= 35
    return canvas


def _choose_classes(rng: np.random.Generator, count: int) -> list[int]:
    ids = np.array(sorted(STYLES))
    weights = np.array([STYLES[i].weight for i in ids])
    return [int(v) for v in rng.choice(ids, size=count, p=weights / weights.sum())]


def polygon_area(points: Points) -> float:
    xs = np.array([p[0] for p in points])
    ys = np.array([p[1] for p in points])
    return float(abs(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1))) / 2)


def make_scene(
    rng: np.random.Generator, size: int, max_objects: int = 4
) -> tuple[np.ndarray, list[tuple[int, Points]]]:
    """One image and its objects (class id, polygon), drawn largest first like the masks are painted."""
    canvas = _background(rng, size)
    objects = []
    for class_id in _choose_classes(rng, int(rng.integers(1, max_objects + 1))):
        style = STYLES[class_id]
        r = rng.uniform(*style.size) * size
        cx, cy = rng.uniform(r * 0.6, size - r * 0.6, 2)
        points = [
            (float(np.clip(x, 0, size)), float(np.clip(y, 0, size))) for x, y in _polygon(rng, style.shape, cx, cy, r)
        ]
        objects.append((class_id, points))
    objects.sort(key=lambda item: -polygon_area(item[1]))
    for class_id, points in objects:
        style = STYLES[class_id]
        outline = Image.new("L", (size, size), 0)
        ImageDraw.Draw(outline).polygon(points, fill=255)
        inside = (np.asarray(outline) > 0)[..., None]
        blended = style.alpha * _texture(rng, style, size) + (1 - style.alpha) * canvas
        canvas = np.where(inside, blended, canvas)
    return np.clip(canvas, 0, 255).astype(np.uint8), objects
