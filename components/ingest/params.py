"""The knobs of ingest, in one dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from trashseg.components.common import checks
from trashseg.components.common.params import check_choices
from trashseg.data_contracts.images import DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class IngestParams:
    """Everything that changes what ingest writes (recorded in the manifest): the CLI options, the component's and the
    pipelines' parameters by the same names."""

    exif: Literal["transpose", "ignore"] = field(
        default="transpose",
        metadata={
            "help": "transpose: annotations refer to the EXIF-rotated image as viewers show it; ignore: to the stored "
            "pixel grid"
        },
    )
    max_pixels: int = field(default=DEFAULT_MAX_PIXELS, metadata={"help": "refuse larger images (decompression bombs)"})
    unlabeled: bool = field(
        default=False, metadata={"help": "store no masks even if the JSON has annotations (a test set's)"}
    )

    def check(self) -> None:
        """Refuse values outside their ranges before any file is read."""
        check_choices(self)
        checks.number("--max-pixels", self.max_pixels, low=1, high=1_000_000_000, integer=True)
