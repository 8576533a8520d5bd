"""The knobs of split, in one dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from trashseg.components.common import checks


@dataclass(frozen=True)
class SplitParams:
    """The knobs of split: the CLI options, the component's and the pipelines' parameters by the same names."""

    folds: int = field(default=5, metadata={"help": "number of folds"})
    seed: int = field(default=42, metadata={"help": "shuffle seed"})

    def check(self) -> None:
        """Refuse values outside their ranges before anything is read."""
        checks.number("--folds", self.folds, low=2, high=100, integer=True)
        checks.number("--seed", self.seed, low=0, high=checks.SEED_MAX, integer=True)
