"""Which device and which autocast precision a stage runs with: train and infer decide the same way."""

from __future__ import annotations

import torch

from trashseg.data_contracts.errors import ParameterError


def pick_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError("--device", f"{requested} requested but no CUDA device is available")
    return torch.device(requested)


def pick_autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """None = fp32. ``auto`` is bf16 on GPUs that have it, fp32 on CPU."""
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return None
    if precision in ("auto", "bf16"):
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            return torch.float16 if precision == "auto" else None
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    raise ParameterError("--precision", f"unknown precision {precision!r} (auto, fp32, bf16, fp16)")
