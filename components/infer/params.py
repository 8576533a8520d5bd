"""The knobs of prediction, in one dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass

from trashseg.components.common import checks
from trashseg.components.common.params import knob
from trashseg.components.models.tta import TTA  # one definition, shared with serve


@dataclass
class InferParams:
    """Every knob of prediction, written once: the CLI is built from these fields and the component is checked against
    them (components.common.params, tests/test_params.py)."""

    tta: TTA = knob(None, "test-time augmentation: flip and/or scales=S1,S2,... ('' = none)", parse=lambda text: TTA.parse(text),
                    to_text=lambda tta: tta.text(), default_factory=lambda: TTA(flip=True))
    batch_size: int = knob(8, "images per forward pass")
    device: str = knob("auto", "auto (GPU if present), cpu, cuda, cuda:N", kfp=False)
    precision: str = knob("auto", "autocast dtype", choices=("auto", "fp32", "bf16", "fp16"), kfp=False)
    save_probs: bool = knob(False, "also store per-class probabilities (soft ensembles, pseudo-label confidence)")

    def check(self) -> None:
        """Refuse values outside their ranges before anything is read."""
        checks.number("--batch-size", self.batch_size, low=1, high=4096, integer=True)
        checks.device("--device", self.device)
        checks.choice("--precision", self.precision, ("auto", "fp32", "bf16", "fp16"))
