"""The knobs of copy-paste, in one dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass

from trashseg.components.common import checks
from trashseg.components.common.params import knob
from trashseg.data_contracts.errors import ContractError


def parse_names(text: str) -> tuple[str, ...]:
    """'Battery, Clothing' -> ('Battery', 'Clothing')."""
    return tuple(name.strip() for name in text.split(","))


def parse_scale(text: str) -> tuple[float, ...]:
    """'0.5,1.5' -> (0.5, 1.5); checked as MIN,MAX by AugmentParams.check."""
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ContractError("--scale", f"expected MIN,MAX, got {text!r}", field="scale") from None


def counts_text(counts: dict[str, int] | None) -> str:
    return ",".join(f"{name}={count}" for name, count in (counts or {}).items())


@dataclass
class AugmentParams:
    """Every knob of copy-paste, written once: the CLI is built from these fields and the component and pipelines are
    checked against them (components.common.params, tests/test_params.py)."""

    fold: int = knob(0, "validation fold: its images are never used as source or canvas")
    classes: tuple[str, ...] = knob(("Battery", "Clothing"), "classes to paste, comma-separated", parse=parse_names)
    counts: dict[str, int] | None = knob(None, "new images per class, CLASS=N,... (a class not named: 50)", flag="--count",
                                         parse=lambda text: parse_counts(text), to_text=counts_text,
                                         default_factory=lambda: {"Battery": 50, "Clothing": 100})
    scale: tuple[float, ...] = knob((0.5, 1.5), "random scale range MIN,MAX", parse=parse_scale)
    rotate: float = knob(30.0, "random rotation range in degrees, +/-")
    seed: int = knob(42, "random seed")

    def check(self) -> None:
        """Refuse values outside their ranges before anything is read."""
        checks.number("--fold", self.fold, low=0, high=1000, integer=True)
        if not self.classes or any(not name for name in self.classes):
            raise ContractError("--classes", f"{','.join(self.classes)!r} needs one or more class names, comma-separated", field="classes")
        for name, count in (self.counts or {}).items():
            checks.number(f"--count {name}", count, low=0, high=100_000, integer=True)
        if len(self.scale) != 2:
            raise ContractError("--scale", f"{self.scale!r} is not MIN,MAX", field="scale")
        for value in self.scale:
            checks.number("--scale", value, low=0, high=10, low_open=True)
        if self.scale[0] > self.scale[1]:
            raise ContractError("--scale", f"{self.scale[0]:g},{self.scale[1]:g}: MIN must not exceed MAX", field="scale")
        checks.number("--rotate", self.rotate, low=0, high=180)
        checks.number("--seed", self.seed, low=0, high=checks.SEED_MAX, integer=True)


def parse_counts(text: str | None) -> dict[str, int] | None:
    """'Battery=50,Clothing=100' -> {'Battery': 50, 'Clothing': 100}."""
    if not text:
        return None
    counts = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        if not value.strip().isdigit():
            raise ContractError("--count", f"expected CLASS=N, got {item!r}", field="count")
        counts[name.strip()] = int(value)
    return counts
