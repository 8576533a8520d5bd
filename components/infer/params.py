"""The knobs of prediction, in one dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass

from trashseg.components.common import checks
from trashseg.components.common.params import knob
from trashseg.data_contracts.errors import ContractError


@dataclass
class TTA:
    """Test-time augmentation: horizontal flip and/or extra scales (1.0 = the training size)."""

    flip: bool = False
    scales: tuple[float, ...] = (1.0,)

    @classmethod
    def parse(cls, text: str | None) -> "TTA":
        """'flip,scales=0.75,1.0,1.25' -> TTA(flip=True, scales=(0.75, 1.0, 1.25))."""
        if not text:
            return cls()
        flip, scales = False, [1.0]
        parts = text.split(",")
        k = 0
        while k < len(parts):
            part = parts[k].strip()
            if part == "flip":
                flip = True
            elif part.startswith("scales="):
                if not _is_number(part.split("=", 1)[1]):
                    raise ContractError("--tta", f"{part!r}: scales must be numbers (scales=S1,S2,...)", field="tta")
                scales = [float(part.split("=", 1)[1])]
                while k + 1 < len(parts) and _is_number(parts[k + 1]):
                    k += 1
                    scales.append(float(parts[k]))
            elif part:
                raise ContractError("--tta", f"unknown item {part!r} (use flip and/or scales=S1,S2,...)", field="tta")
            k += 1
        for scale in scales:
            checks.number("--tta scales", scale, low=0, high=4, low_open=True)
        return cls(flip, tuple(scales))

    def text(self) -> str:
        """The inverse of ``parse``: TTA(True, (0.75, 1.0)) -> 'flip,scales=0.75,1.0'."""
        parts = ["flip"] if self.flip else []
        if self.scales != (1.0,):
            parts.append("scales=" + ",".join(f"{s:g}" for s in self.scales))
        return ",".join(parts)

    def views(self) -> list[tuple[float, bool]]:
        return [(scale, flipped) for scale in self.scales for flipped in ((False, True) if self.flip else (False,))]


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


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
