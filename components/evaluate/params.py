"""The knobs of evaluate and compare, in dataclasses (light imports: the CLIs build their options from them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from trashseg.components.common import checks


def check_fold(fold: int | None, split_given: bool) -> None:
    """A fold needs a split (and the reverse), and is a fold number."""
    checks.together("--fold", fold, "--split", True if split_given else None)
    if fold is not None:
        checks.number("--fold", fold, low=0, high=1000, integer=True)


@dataclass(frozen=True)
class EvaluateParams:
    """The knobs of evaluate: the CLI options, the component's and the pipelines' parameters by the same names."""

    fold: int | None = field(
        default=None, metadata={"help": "with --split: score that fold's images only (unset: the whole dataset)"}
    )
    subset: bool = field(
        default=False,
        metadata={"help": "score only the images that have predictions (default: every image of the set needs one)"},
    )

    def check(self, split_given: bool) -> None:
        """Refuse values outside their ranges, and a fold without a split (or the reverse), before anything is read."""
        check_fold(self.fold, split_given)


@dataclass(frozen=True)
class CompareParams:
    """The knobs of compare (the paired bootstrap), as for EvaluateParams."""

    fold: int | None = field(
        default=None, metadata={"help": "with --split: compare on that fold's images only (unset: the whole dataset)"}
    )
    resamples: int = field(default=1000, metadata={"help": "bootstrap resamples"})
    confidence: float = field(default=0.95, metadata={"help": "interval coverage"})
    seed: int = field(default=0, metadata={"help": "seed of the resampling"})

    def check(self, split_given: bool) -> None:
        """Refuse values outside their ranges before any prediction is scored."""
        check_fold(self.fold, split_given)
        checks.number("--resamples", self.resamples, low=100, high=100_000, integer=True)
        checks.number("--confidence", self.confidence, low=0.5, high=1, low_open=True, high_open=True)
        checks.number("--seed", self.seed, low=0, high=checks.SEED_MAX, integer=True)
