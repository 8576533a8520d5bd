"""The knobs of split, in one dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass

from trashseg.components.common import checks
from trashseg.components.common.params import knob


@dataclass(frozen=True)
class SplitParams:
    """Every knob of split, written once: the CLI is built from these fields and the component and pipelines are
    checked against them (components.common.params, tests/test_params.py)."""

    folds: int = knob(5, "number of folds")
    seed: int = knob(42, "shuffle seed")

    def check(self) -> None:
        """Refuse values outside their ranges before anything is read."""
        checks.number("--folds", self.folds, low=2, high=100, integer=True)
        checks.number("--seed", self.seed, low=0, high=checks.SEED_MAX, integer=True)
