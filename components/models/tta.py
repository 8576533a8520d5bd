"""Test-time augmentation: the two knobs infer, serve and deploy share (light imports: CLIs build options from them).

``InferParams``, ``ServeParams`` and ``DeployParams`` all extend ``TTA``, so ``--tta-flip`` and ``--tta-scales`` mean
the same views in a batch prediction, behind the model server and in the InferenceService's command line, and a
served photo gets the labels ``trashseg infer`` writes for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trashseg.components.common import checks


@dataclass
class TTA:
    """Which views of each image are predicted; their class probabilities are averaged before the argmax."""

    tta_flip: bool = field(default=True, metadata={"help": "test-time augmentation: also predict the mirrored image"})
    tta_scales: list[float] = field(
        default_factory=lambda: [1.0],
        metadata={
            "help": "test-time augmentation: predict at these multiples of the training size, e.g. 0.75 1.0 1.25"
        },
    )

    def check_tta(self) -> None:
        """Refuse an empty scale list or a scale outside (0, 4]."""
        if not self.tta_scales:
            checks.number("--tta-scales", None, low=0, high=4, low_open=True)
        for scale in self.tta_scales:
            checks.number("--tta-scales", scale, low=0, high=4, low_open=True)

    def views(self) -> list[tuple[float, bool]]:
        """(scale, mirrored) of every test-time view."""
        flips = (False, True) if self.tta_flip else (False,)
        return [(float(scale), flipped) for scale in self.tta_scales for flipped in flips]

    def tta_text(self) -> str:
        """For logs and the server's response parameters: 'flip, scales 0.75 1'; 'none' without augmentation."""
        parts = ["flip"] if self.tta_flip else []
        if list(self.tta_scales) != [1.0]:
            parts.append("scales " + " ".join(f"{float(s):g}" for s in self.tta_scales))
        return ", ".join(parts) or "none"


NO_TTA = TTA(tta_flip=False, tta_scales=[1.0])  # the network's own view only (export's agreement check)
