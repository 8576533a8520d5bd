"""Evaluation outputs for people: kfp metrics, and an HTML page with the worst predictions shown."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from trashseg.components.common.html import page, table
from trashseg.data_contracts.dataset import Dataset
from trashseg.data_contracts.metrics import Metrics
from trashseg.data_contracts.predictions import Predictions


def log_to_kfp(metrics_dir: Path, metrics: Any, confusion: Any) -> None:
    from trashseg.components.common.kfp_io import log_confusion, log_metrics

    result = Metrics(metrics_dir)
    values = {
        k: result.summary[k]
        for k in ("miou", "mean_image_miou", "pixel_accuracy", "mean_class_accuracy")
        if result.summary.get(k) is not None
    }
    values.update({f"iou_{name}": v for name, v in result.summary["per_class_iou"].items() if v is not None})
    log_metrics(metrics, values)
    log_confusion(confusion, result.per_class["class_name"].tolist(), result.confusion.astype(int).tolist())


def _png_data_uri(pixels: np.ndarray, width: int = 256) -> str:
    image = Image.fromarray(pixels)
    image = image.resize((width, max(1, round(image.height * width / image.width))), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def evaluation_report(metrics_dir: Path, predictions_dir: Path, dataset_dir: Path, worst: int = 6) -> str:
    result, predictions, dataset = Metrics(metrics_dir), Predictions(predictions_dir), Dataset(dataset_dir)
    lut = dataset.classes.palette_array()
    summary = result.summary
    body = [
        f"<p>mIoU <b>{summary['miou']:.4f}</b> over {summary['images']} images; pixel accuracy "
        f"{summary['pixel_accuracy']:.4f}</p>",
        table(result.per_class[["class_name", "iou", "accuracy", "true_pixels", "predicted_pixels"]]),
        "<h2>worst images (image | truth | prediction)</h2>",
    ]
    for row in result.per_image.sort_values("miou").head(worst).itertuples(index=False):
        cells = [dataset.image(row.image_id), lut[dataset.mask(row.image_id)], lut[predictions.labels(row.image_id)]]
        images = "".join(f"<img src='{_png_data_uri(c)}' alt='' style='margin:2px'>" for c in cells)
        body.append(f"<div><p>{row.file_name}: mIoU {row.miou:.3f}</p>{images}</div>")
    legend = "".join(
        f"<span style='background:rgb{tuple(int(v) for v in lut[i])};color:#fff;padding:2px 6px;margin:2px'>{n}</span>"
        for i, n in enumerate(dataset.classes.names)
    )
    return page("Evaluation", legend + "".join(body))
