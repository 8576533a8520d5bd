"""The knobs of submit, in one dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from trashseg.components.common import checks
from trashseg.components.common.params import check_choices


@dataclass(frozen=True)
class SubmitParams:
    """The knobs of submit: the CLI options, the component's and the pipelines' parameters by the same names."""

    submission_size: int = field(
        default=256, metadata={"help": "side of the submitted label map (the competition's: 256)"}
    )
    downsample: Literal["nearest", "mode"] = field(
        default="nearest",
        metadata={
            "help": "nearest: the competition baseline's (cv2 INTER_NEAREST); mode: majority class of each block"
        },
    )

    def check(self) -> None:
        """Refuse values outside their ranges before anything is read."""
        checks.number("--submission-size", self.submission_size, low=1, high=4096, integer=True)
        check_choices(self)
