"""The knobs of sample-data, in one dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from trashseg.components.common import checks


@dataclass(frozen=True)
class SampleDataParams:
    """How much synthetic data to make: the CLI options by the same names."""

    train_images: int = field(default=96, metadata={"help": "labeled images"})
    test_images: int = field(default=24, metadata={"help": "unlabeled test images"})
    image_size: int = field(default=128, metadata={"help": "image side in pixels (the competition's: 512)"})
    seed: int = field(default=0, metadata={"help": "random seed"})

    def check(self) -> None:
        """Refuse values outside their ranges before anything is written."""
        checks.number("--train-images", self.train_images, low=1, high=100_000, integer=True)
        checks.number("--test-images", self.test_images, low=1, high=100_000, integer=True)
        checks.number("--image-size", self.image_size, low=32, high=4096, integer=True)
        checks.number("--seed", self.seed, low=0, high=checks.SEED_MAX, integer=True)
