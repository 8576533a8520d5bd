"""The knobs of export, in one plain dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from trashseg.components.common import checks


@dataclass(frozen=True)
class ExportParams:
    """What changes an export: how many images its self-check compares (recorded in the manifest)."""

    check_images: int = field(
        default=8,
        metadata={
            "help": "images on which the export's labels are compared with the "
            "model's before it is written (from --dataset, else generated)"
        },
    )

    def check(self) -> None:
        """Refuse values outside their ranges before anything is read."""
        checks.number("--check-images", self.check_images, low=1, high=256, integer=True)
