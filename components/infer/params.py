"""The knobs of prediction, in one dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from trashseg.components.common import checks


@dataclass
class InferParams:
    """The knobs of prediction: the CLI options, the component's and the pipelines' parameters by the same names."""

    tta_flip: bool = field(default=True, metadata={"help": "test-time augmentation: also predict the mirrored image"})
    tta_scales: list[float] = field(
        default_factory=lambda: [1.0],
        metadata={
            "help": "test-time augmentation: predict at these multiples of the training size, e.g. 0.75 1.0 1.25"
        },
    )
    batch_size: int = field(default=8, metadata={"help": "images per forward pass"})
    save_probs: bool = field(
        default=False, metadata={"help": "also store per-class probabilities (soft ensembles, pseudo-label confidence)"}
    )

    def check(self) -> None:
        """Refuse values outside their ranges before anything is read."""
        checks.number("--batch-size", self.batch_size, low=1, high=4096, integer=True)
        if not self.tta_scales:
            checks.number("--tta-scales", None, low=0, high=4, low_open=True)
        for scale in self.tta_scales:
            checks.number("--tta-scales", scale, low=0, high=4, low_open=True)

    def views(self) -> list[tuple[float, bool]]:
        """(scale, mirrored) of every test-time view; the probabilities are averaged over them."""
        return [
            (scale, flipped) for scale in self.tta_scales for flipped in ((False, True) if self.tta_flip else (False,))
        ]
