"""The knobs of evaluate and compare, in dataclasses (light imports: the CLIs build their options from them)."""

from __future__ import annotations

from dataclasses import dataclass

from trashseg.components.common import checks
from trashseg.components.common.params import knob


def check_fold(fold: int | None, split_given: bool) -> None:
    """A fold needs a split (and the reverse), and is a fold number."""
    checks.together("--fold", fold, "--split", True if split_given else None)
    if fold is not None:
        checks.number("--fold", fold, low=0, high=1000, integer=True)


@dataclass(frozen=True)
class EvaluateParams:
    """Every knob of evaluate, written once: the CLI is built from these fields and the component and pipelines are
    checked against them (components.common.params, tests/test_params.py)."""

    fold: int | None = knob(None, "with --split: score that fold's images only", unset=-1, none_means="the whole dataset")
    subset: bool = knob(False, "score only the images that have predictions (default: every image of the set needs one)",
                        kfp=False)

    def check(self, split_given: bool) -> None:
        """Refuse values outside their ranges, and a fold without a split (or the reverse), before anything is read."""
        check_fold(self.fold, split_given)


@dataclass(frozen=True)
class CompareParams:
    """Every knob of compare (the paired bootstrap), written once, as for EvaluateParams."""

    fold: int | None = knob(None, "with --split: compare on that fold's images only", unset=-1, none_means="the whole dataset")
    resamples: int = knob(1000, "bootstrap resamples")
    confidence: float = knob(0.95, "interval coverage")
    seed: int = knob(0, "seed of the resampling")

    def check(self, split_given: bool) -> None:
        """Refuse values outside their ranges before any prediction is scored."""
        check_fold(self.fold, split_given)
        checks.number("--resamples", self.resamples, low=100, high=100_000, integer=True)
        checks.number("--confidence", self.confidence, low=0.5, high=1, low_open=True, high_open=True)
        checks.number("--seed", self.seed, low=0, high=checks.SEED_MAX, integer=True)
