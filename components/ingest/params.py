"""The knobs of ingest, in one dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass

from trashseg.components.common import checks
from trashseg.components.common.params import knob
from trashseg.data_contracts.images import DEFAULT_MAX_PIXELS

EXIF_POLICIES = ("transpose", "ignore")


@dataclass(frozen=True)
class IngestParams:
    """Everything that changes what ingest writes (recorded in the manifest), written once: the CLI is built from these
    fields and the component and pipelines are checked against them (components.common.params, tests/test_params.py)."""

    exif: str = knob("transpose", "transpose: annotations refer to the EXIF-rotated image as viewers show it; ignore: to the "
                                  "stored pixel grid", choices=EXIF_POLICIES)
    max_pixels: int = knob(DEFAULT_MAX_PIXELS, "refuse larger images (decompression bombs)", kfp=False)
    unlabeled: bool = knob(False, "store no masks even if the JSON has annotations (a test set's)", kfp=False)

    def check(self) -> None:
        """Refuse values outside their ranges before any file is read."""
        checks.choice("--exif", self.exif, EXIF_POLICIES)
        checks.number("--max-pixels", self.max_pixels, low=1, high=1_000_000_000, integer=True)
