"""The knobs of ensemble, in one dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from trashseg.components.common import checks
from trashseg.components.common.params import check_choices
from trashseg.data_contracts.errors import ParameterError


@dataclass(frozen=True)
class EnsembleParams:
    """The knobs of ensemble: the CLI options, the component's and the pipelines' parameters by the same names."""

    vote: Literal["hard", "soft"] = field(
        default="hard",
        metadata={
            "help": "hard: weighted vote of label maps, ties to the earliest-listed input (a hard vote of two is the "
            "first); "
            "soft: weighted mean of probabilities (needs infer --save-probs), then argmax"
        },
    )
    weights: list[float] | None = field(
        default=None, metadata={"help": "a weight per input, e.g. 2 1 1 (unset: all 1)"}
    )

    def check(self, inputs: int) -> None:
        """Refuse values outside their ranges, and a weight list that does not fit ``inputs``, before anything is
        read."""
        if inputs < 2:
            raise ParameterError("--predictions", "an ensemble needs at least two predictions")
        check_choices(self)
        if self.weights is None:
            return
        if len(self.weights) != inputs:
            raise ParameterError("--weights", f"{len(self.weights)} weights for {inputs} predictions")
        for value in self.weights:
            checks.number("--weights", value, low=0, high=1e6)
        if sum(self.weights) <= 0:
            raise ParameterError("--weights", "weights must be non-negative with a positive sum")
