"""How a stage uses the machine it runs on: the device and the autocast dtype (not what it computes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from trashseg.components.common import checks
from trashseg.components.common.params import check_choices


@dataclass
class Machine:
    """CLI options of the stages that run a model; a kfp task takes these defaults (a GPU when its pod has one)."""

    device: str = field(default="auto", metadata={"help": "auto (a GPU if there is one), cpu, cuda, cuda:N"})
    precision: Literal["auto", "fp32", "bf16", "fp16"] = field(
        default="auto", metadata={"help": "autocast dtype; auto = bf16 on GPUs that support it, fp32 on CPU"}
    )

    def check(self) -> None:
        checks.device("--device", self.device)
        check_choices(self)
