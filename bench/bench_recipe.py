"""What each change to the from-scratch recipe measured: the tiny UperNet on the same sample data, one run.

Why: a tiny model from random weights used to sit at the all-Background mIoU
(0.08 on the sample data, 0.081 on taco-trash11) for many epochs. Each candidate
trains fold 0 of the same split for the same epochs and seed; the figures are
the best validation mIoU, per-class IoU, the first epoch above 0.2 (how long the
model stayed stuck on Background) and seconds. Recorded, not asserted.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq

from bench.common import save
from trashseg.components.ingest.logic import run_ingest
from trashseg.components.models import presets
from trashseg.components.sample_data.logic import run_sample_data
from trashseg.components.split.logic import run_split
from trashseg.components.train.logic import TrainParams, run_train
from trashseg.data_contracts.model import HISTORY_FILE

PRESET = "upernet-convnext-tiny"
OLD_RECIPE = dict(
    lr_backbone=1e-3, lr_head=3e-3, batch_size=8, loss="model", warmup_steps=0
)  # the tiny recipe before the change
HIGH_LR = dict(OLD_RECIPE, lr_backbone=3e-3, lr_head=1e-2)

# name -> (TrainParams overrides, backbone widths or None for the preset's)
CANDIDATES: dict[str, tuple[dict, list[int] | None]] = {
    "old recipe (model CE, lr 1e-3/3e-3, batch 8)": (OLD_RECIPE, None),
    "+ lr 3e-3/1e-2": (HIGH_LR, None),
    "+ lr, class-weighted CE": (dict(HIGH_LR, loss="weighted_ce"), None),
    "+ lr, CE + Dice": (dict(HIGH_LR, loss="ce_dice"), None),
    "new preset (CE + Dice, lr 5e-3/1e-2, batch 4, warmup 30)": ({}, None),
    "new preset without Dice": (dict(loss="model"), None),
    "new preset, cosine decay": (dict(schedule="cosine"), None),
    "new preset + random resized crops": (dict(photometric=["random_resized_crop"]), None),
    "new preset, backbone 32-256 wide": ({}, [32, 64, 128, 256]),
}


@contextlib.contextmanager
def _wider(widths: list[int] | None) -> Iterator[None]:
    """The preset with other backbone widths, for one candidate (the preset table is restored after)."""
    if widths is None:
        yield
        return
    original = presets.PRESETS[PRESET]
    presets.PRESETS[PRESET] = replace(
        original, make_config=presets._upernet(lambda: presets._convnext([1, 1, 2, 1], widths), 64, 32)
    )
    try:
        yield
    finally:
        presets.PRESETS[PRESET] = original


def run(epochs: int = 40, seed: int = 0) -> dict:
    figures: dict = {
        "setup": {
            "preset": PRESET,
            "epochs": epochs,
            "seed": seed,
            "fold": 0,
            "data": "trashseg sample-data defaults (96 train images, 128 px)",
        },
        "candidates": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_sample_data(root / "data")
        run_ingest(root / "data/train/annotations.json", root / "data/train/images", root / "train")
        run_split(root / "train", root / "split")
        for k, (name, (overrides, widths)) in enumerate(CANDIDATES.items()):
            params = TrainParams(preset=PRESET, epochs=epochs, seed=seed, fold=0, **overrides)
            started = time.perf_counter()
            with _wider(widths):
                run_train([root / "train"], root / "split", root / f"model{k}", params)
            history = pq.read_table(root / f"model{k}" / HISTORY_FILE).to_pandas()
            best = history.loc[history.val_miou.idxmax()]
            above = history[history.val_miou > 0.2].epoch
            figures["candidates"][name] = {
                "best_val_miou": float(best.val_miou),
                "best_epoch": int(best.epoch),
                "seconds": time.perf_counter() - started,
                "first_epoch_above_0.2": int(above.iloc[0]) if len(above) else None,
                "iou": {c[4:]: round(float(best[c]), 4) for c in history.columns if c.startswith("iou_")},
            }
            print(f"{name}: best val mIoU {best.val_miou:.4f} (epoch {int(best.epoch)})", flush=True)
            save("recipe", figures)  # after every candidate: a run cut short keeps what it measured
    return figures


def table(figures: dict) -> str:
    """The README's table: one row per candidate."""
    rows = ["| change | best val mIoU | first epoch > 0.2 | Battery | Metal | seconds |", "|---|---|---|---|---|---|"]
    for name, c in figures["candidates"].items():
        rows.append(
            f"| {name} | {c['best_val_miou']:.3f} | {c['first_epoch_above_0.2'] or '-'} | {c['iou']['Battery']:.2f} | "
            f"{c['iou']['Metal']:.2f} | {c['seconds']:.0f} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    import os

    os.environ.setdefault("TRASHSEG_PROGRESS", "0")
    print(table(run()))
