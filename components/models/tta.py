"""Test-time augmentation: what infer and serve both mean by "flip,scales=0.75,1.0" (light imports: CLIs parse it)."""

from __future__ import annotations

from dataclasses import dataclass

from trashseg.components.common import checks
from trashseg.data_contracts.errors import ContractError


@dataclass
class TTA:
    """Test-time augmentation: horizontal flip and/or extra scales (1.0 = the training size)."""

    flip: bool = False
    scales: tuple[float, ...] = (1.0,)

    @classmethod
    def parse(cls, text: str | None) -> TTA:
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
