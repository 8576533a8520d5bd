"""The knobs of pseudo-label, in one dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from trashseg.components.common import checks


@dataclass(frozen=True)
class PseudoLabelParams:
    """The knobs of pseudo-label: the CLI options, the component's and the pipelines' parameters by the same names."""

    min_confidence: float = field(
        default=0.0,
        metadata={
            "help": "ignore pixels whose top probability is lower (needs infer --save-probs; 0 keeps every pixel, as "
            "the report did)"
        },
    )
    round: int = field(default=1, metadata={"help": "pseudo-labeling round, recorded in the dataset"})

    def check(self) -> None:
        """Refuse values outside their ranges before anything is read."""
        checks.number("--min-confidence", self.min_confidence, low=0, high=1)
        checks.number("--round", self.round, low=1, high=1000, integer=True)
