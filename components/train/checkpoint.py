"""Per-epoch checkpoints (weights, optimizer, scheduler, RNG, history) for ``--resume``.

Weights and RNG state are safetensors; the optimizer/scheduler state is a plain
tensor dict read back with ``torch.load(weights_only=True)`` (no pickle of code).
Each checkpoint is written to a temporary directory and renamed, so a run killed
mid-write still resumes from the previous complete epoch.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import torch
from safetensors.torch import load_file, load_model, save_file, save_model

LAST = "last"
BEST = "best"


def _replace_dir(tmp: Path, final: Path) -> None:
    if final.exists():
        old = final.with_name(final.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


@contextlib.contextmanager
def _temporary(root: Path, prefix: str) -> Iterator[Path]:
    """A temporary directory under ``root``, removed if the write is interrupted (SIGTERM, a full disk)."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # renamed away on success, so this only removes leftovers


def save_last(root: Path, model: torch.nn.Module, optimizer, scheduler, scaler, state: dict[str, Any]) -> None:
    with _temporary(root, ".last.tmp-") as tmp:
        save_model(model, str(tmp / "model.safetensors"))
        torch.save(
            {
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict() if scaler is not None else {},
            },
            tmp / "optimizer.pt",
        )
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng.update({f"cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
        save_file(rng, str(tmp / "rng.safetensors"))
        (tmp / "state.json").write_text(json.dumps(state, indent=1, sort_keys=True))
        _replace_dir(tmp, root / LAST)


def load_last(root: Path, model: torch.nn.Module, optimizer, scheduler, scaler) -> dict[str, Any] | None:
    """Restore everything from ``root/last``; None when there is no checkpoint yet."""
    last = root / LAST
    if not (last / "state.json").is_file():
        return None
    load_model(model, str(last / "model.safetensors"))
    extra = torch.load(last / "optimizer.pt", weights_only=True, map_location="cpu")
    optimizer.load_state_dict(extra["optimizer"])
    scheduler.load_state_dict(extra["scheduler"])
    if scaler is not None and extra["scaler"]:
        scaler.load_state_dict(extra["scaler"])
    rng = load_file(str(last / "rng.safetensors"))
    torch.set_rng_state(rng["torch"])
    if torch.cuda.is_available():
        cuda = [rng[k] for k in sorted(k for k in rng if k.startswith("cuda"))]
        if cuda:
            torch.cuda.set_rng_state_all(cuda)
    return json.loads((last / "state.json").read_text())


def save_best(root: Path, model: torch.nn.Module) -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one bar per epoch is noise; train has its own
    with _temporary(root, ".best.tmp-") as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        _replace_dir(tmp, root / BEST)
