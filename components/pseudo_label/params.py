"""The knobs of pseudo-labeling, in one dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass

from trashseg.components.common import checks
from trashseg.components.common.params import knob


@dataclass(frozen=True)
class PseudoLabelParams:
    """Every knob of pseudo-label, written once: the CLI is built from these fields and the component and pipelines are
    checked against them (components.common.params, tests/test_params.py)."""

    min_confidence: float = knob(0.0, "ignore pixels whose top probability is lower (needs infer --save-probs; 0 keeps "
                                      "every pixel, as the report did)")
    round_number: int = knob(1, "pseudo-labeling round, recorded in the dataset", flag="--round")

    def check(self) -> None:
        """Refuse values outside their ranges before anything is read."""
        checks.number("--min-confidence", self.min_confidence, low=0, high=1)
        checks.number("--round", self.round_number, low=1, high=1000, integer=True)
