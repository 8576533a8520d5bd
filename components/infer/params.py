"""The knobs of prediction, in one dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from trashseg.components.common import checks
from trashseg.components.models.tta import TTA  # tta_flip and tta_scales: one definition, shared with serve and deploy


@dataclass
class InferParams(TTA):
    """The knobs of prediction: the CLI options, the component's and the pipelines' parameters by the same names."""

    batch_size: int = field(default=8, metadata={"help": "images per forward pass"})
    save_probs: bool = field(
        default=False, metadata={"help": "also store per-class probabilities (soft ensembles, pseudo-label confidence)"}
    )

    def check(self) -> None:
        """Refuse values outside their ranges before anything is read."""
        self.check_tta()
        checks.number("--batch-size", self.batch_size, low=1, high=4096, integer=True)
