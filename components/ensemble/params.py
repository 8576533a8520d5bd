"""The knobs of ensemble, in one dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass

from trashseg.components.common import checks
from trashseg.components.common.params import knob
from trashseg.data_contracts.errors import ContractError

METHODS = ("hard", "soft")
# Two predictions (the main pipeline's rounds) vote soft by default: a hard vote of two is the first one, ties included.
PAIR_METHOD = "soft"


def parse_weights(text: str) -> tuple[float, ...] | None:
    """'2,1,1' -> (2.0, 1.0, 1.0); '' -> None (equal weights)."""
    if not text:
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ContractError("--weights", f"not a comma-separated list of numbers: {text!r}", field="weights") from None


def weights_text(weights: tuple[float, ...] | None) -> str:
    return ",".join(f"{w:g}" for w in weights or ())


@dataclass(frozen=True)
class EnsembleParams:
    """Every knob of ensemble, written once: the CLI is built from these fields and the components and pipelines are
    checked against them (components.common.params, tests/test_params.py)."""

    method: str = knob("hard", "hard: weighted vote of label maps, ties to the earliest-listed input; soft: weighted mean of "
                               "probabilities (needs infer --save-probs), then argmax", choices=METHODS)
    weights: tuple[float, ...] | None = knob(None, "a weight per input, comma-separated, e.g. 2,1,1", parse=parse_weights,
                                             to_text=weights_text, unset="", none_means="all 1")

    def check(self, inputs: int) -> None:
        """Refuse values outside their ranges, and a weight list that does not fit ``inputs``, before anything is read."""
        if inputs < 2:
            raise ContractError("--predictions", "an ensemble needs at least two predictions", field="predictions")
        checks.choice("--method", self.method, METHODS)
        if self.weights is None:
            return
        if len(self.weights) != inputs:
            raise ContractError("--weights", f"{len(self.weights)} weights for {inputs} predictions", field="weights")
        for value in self.weights:
            checks.number("--weights", value, low=0, high=1e6)
        if sum(self.weights) <= 0:
            raise ContractError("--weights", "weights must be non-negative with a positive sum", field="weights")
