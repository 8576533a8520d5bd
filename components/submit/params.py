"""The knobs of submit, in one dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass

from trashseg.components.common import checks
from trashseg.components.common.params import knob

DOWNSAMPLE_METHODS = ("nearest", "mode")


@dataclass(frozen=True)
class SubmitParams:
    """Every knob of submit, written once: the CLI is built from these fields and the component and pipelines are
    checked against them (components.common.params, tests/test_params.py)."""

    size: int = knob(256, "side of the submitted label map (the competition's: 256)")
    downsample: str = knob("nearest", "nearest: the competition baseline's (cv2 INTER_NEAREST); mode: majority class of each block",
                           choices=DOWNSAMPLE_METHODS)

    def check(self) -> None:
        """Refuse values outside their ranges before anything is read."""
        checks.number("--size", self.size, low=1, high=4096, integer=True)
        checks.choice("--downsample", self.downsample, DOWNSAMPLE_METHODS)
