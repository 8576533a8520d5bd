"""The training report: loss and validation mIoU curves, per-class IoU of the best epoch."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trashseg.components.common.html import line_chart, page, table
from trashseg.data_contracts.model import ModelArtifact


def training_report(model_dir: Path) -> str:
    model = ModelArtifact(model_dir)
    history = model.history().to_pandas()
    best = history.iloc[model.card["best_epoch"] - 1]
    per_class = pd.DataFrame(
        [{"class": c[4:], "IoU": best[c]} for c in history.columns if c.startswith("iou_") and pd.notna(best[c])]
    )
    body = (
        line_chart({"train loss": history["train_loss"].tolist()}, "training loss")
        + line_chart({"val mIoU": history["val_miou"].tolist()}, "validation mIoU")
        + f"<h2>best epoch {model.card['best_epoch']}: mIoU {best['val_miou']:.4f}</h2>"
        + table(per_class)
        + "<h2>history</h2>"
        + table(history[["epoch", "train_loss", "val_miou", "lr_backbone", "lr_head", "images_per_second"]], "{:.4g}")
    )
    return page(f"Training {model.preset}", body)
