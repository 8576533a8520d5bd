"""The class table and the conventions every stage shares (defined once, imported everywhere)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Class ids are the label values in every mask and prediction; 0 is Background.
CLASS_NAMES: tuple[str, ...] = (
    "Background",
    "General trash",
    "Paper",
    "Paper pack",
    "Metal",
    "Glass",
    "Plastic",
    "Styrofoam",
    "Plastic bag",
    "Battery",
    "Clothing",
)
NUM_CLASSES = len(CLASS_NAMES)

# Pixels with this value are skipped by losses and metrics (pseudo-label pixels
# below the confidence threshold, padding). The transformers models use 255 too.
IGNORE_INDEX = 255

# The palette the report's viewer used (Background black, then distinct colours).
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0),
    (192, 0, 128),
    (0, 128, 192),
    (0, 128, 64),
    (128, 0, 0),
    (64, 0, 128),
    (64, 0, 192),
    (192, 128, 64),
    (192, 192, 128),
    (64, 64, 128),
    (128, 0, 192),
)


def normalise_name(name: str) -> str:
    """Class names match case- and whitespace-insensitively ("plastic  bag" == "Plastic bag")."""
    return " ".join(str(name).split()).casefold()


@dataclass(frozen=True)
class ClassTable:
    """Class id -> name and palette colour. Id 0 is always the background class."""

    names: tuple[str, ...] = CLASS_NAMES
    palette: tuple[tuple[int, int, int], ...] = PALETTE

    def __post_init__(self) -> None:
        if len(self.names) < 2:
            raise ValueError("a class table needs Background and at least one object class")
        if len(self.names) > IGNORE_INDEX:
            raise ValueError(f"at most {IGNORE_INDEX} classes fit in a uint8 mask")
        if len({normalise_name(n) for n in self.names}) != len(self.names):
            raise ValueError(f"duplicate class names in {list(self.names)}")
        if len(self.palette) != len(self.names):
            raise ValueError("palette and names differ in length")

    @classmethod
    def from_names(cls, names: list[str] | tuple[str, ...]) -> ClassTable:
        """A table for custom names; colours from the default palette, then a seeded generator."""
        names = tuple(names)
        palette = list(PALETTE[: len(names)])
        rng = np.random.default_rng(0)
        while len(palette) < len(names):
            palette.append(tuple(int(v) for v in rng.integers(0, 256, 3)))
        return cls(names=names, palette=tuple(palette))

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def id_of(self, name: str) -> int | None:
        """The class id for a name, or None when it is not in the table."""
        wanted = normalise_name(name)
        for class_id, known in enumerate(self.names):
            if normalise_name(known) == wanted:
                return class_id
        return None

    def palette_array(self) -> np.ndarray:
        """(256, 3) uint8 colour lookup; ids past the table (255 = ignore) are white."""
        lut = np.full((256, 3), 255, dtype=np.uint8)
        lut[: self.num_classes] = np.asarray(self.palette, dtype=np.uint8)
        return lut

    def to_records(self) -> list[dict]:
        return [
            {"id": i, "name": n, "r": c[0], "g": c[1], "b": c[2]}
            for i, (n, c) in enumerate(zip(self.names, self.palette))
        ]

    @classmethod
    def from_records(cls, records: list[dict]) -> ClassTable:
        records = sorted(records, key=lambda r: int(r["id"]))
        if [int(r["id"]) for r in records] != list(range(len(records))):
            raise ValueError("class ids must be 0..N-1 without gaps")
        return cls(
            names=tuple(str(r["name"]) for r in records),
            palette=tuple((int(r["r"]), int(r["g"]), int(r["b"])) for r in records),
        )
