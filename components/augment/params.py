"""The knobs of copy-paste, in one dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from trashseg.components.common import checks
from trashseg.data_contracts.errors import ParameterError

DEFAULT_COUNT = 50  # new images for a pasted class that paste_counts does not name


@dataclass
class AugmentParams:
    """The knobs of copy-paste: the CLI options, the component's and the pipelines' parameters by the same names."""

    fold: int = field(default=0, metadata={"help": "validation fold: its images are never used as source or canvas"})
    paste_classes: list[str] = field(
        default_factory=lambda: ["Battery", "Clothing"], metadata={"help": "classes to paste"}
    )
    paste_counts: dict[str, int] = field(
        default_factory=lambda: {"Battery": 50, "Clothing": 100},
        metadata={"help": f"new images per pasted class, CLASS=N ... (a class not named: {DEFAULT_COUNT})"},
    )
    paste_scale: list[float] = field(
        default_factory=lambda: [0.5, 1.5], metadata={"help": "random scale range: MIN MAX"}
    )
    paste_rotate: float = field(default=30.0, metadata={"help": "random rotation range in degrees, +/-"})
    seed: int = field(default=42, metadata={"help": "random seed"})

    def check(self) -> None:
        """Refuse values outside their ranges before anything is read."""
        checks.number("--fold", self.fold, low=0, high=1000, integer=True)
        if not self.paste_classes or any(not str(name).strip() for name in self.paste_classes):
            raise ParameterError("--paste-classes", f"{self.paste_classes!r} needs one or more class names")
        for name, count in self.paste_counts.items():
            checks.number(f"--paste-counts {name}", count, low=0, high=100_000, integer=True)
        if len(self.paste_scale) != 2:
            raise ParameterError("--paste-scale", f"{self.paste_scale!r} is not MIN MAX")
        for value in self.paste_scale:
            checks.number("--paste-scale", value, low=0, high=10, low_open=True)
        if self.paste_scale[0] > self.paste_scale[1]:
            raise ParameterError(
                "--paste-scale", f"{self.paste_scale[0]:g} {self.paste_scale[1]:g}: MIN must not exceed MAX"
            )
        checks.number("--paste-rotate", self.paste_rotate, low=0, high=180)
        checks.number("--seed", self.seed, low=0, high=checks.SEED_MAX, integer=True)

    def count_of(self, name: str) -> int:
        return int(self.paste_counts.get(name, DEFAULT_COUNT))
