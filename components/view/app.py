"""The Streamlit app behind ``trashseg view`` (run by ``streamlit run``; configured by TRASHSEG_VIEW_CONFIG).

TRASHSEG_VIEW_CONFIG is JSON: {"dataset": DIR, "predictions": [DIR_OR_CSV, ...]}.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import streamlit as st

from trashseg.components.view.data import (
    PredictionSource,
    dataset_confusion,
    difference,
    fit,
    legend_html,
    overlay,
    per_class_table,
    pixel_shares,
    score_images,
    select,
)
from trashseg.data_contracts.dataset import Dataset

CONFIG_ENV = "TRASHSEG_VIEW_CONFIG"


@st.cache_resource(show_spinner="opening artifacts")
def load(dataset_dir: str, prediction_paths: tuple[str, ...]):
    dataset = Dataset(Path(dataset_dir), verify_hashes=False)
    return dataset, [PredictionSource(Path(p), dataset.classes) for p in prediction_paths]


@st.cache_data(show_spinner="scoring images", max_entries=8)
def scores(dataset_dir: str, prediction_path: str):
    dataset, sources = load(dataset_dir, (prediction_path,))
    return score_images(dataset, sources[0])


@st.cache_data(max_entries=256)
def decoded(dataset_dir: str, image_id: int) -> np.ndarray:
    dataset, _ = load(dataset_dir, ())
    return dataset.image(image_id)


def main() -> None:
    st.set_page_config(page_title="trashseg viewer", layout="wide")
    config = json.loads(os.environ.get(CONFIG_ENV, "{}"))
    if not config.get("dataset") or not config.get("predictions"):
        st.error(f"set {CONFIG_ENV} (trashseg view does it): a dataset and at least one predictions artifact or CSV")
        return
    paths = tuple(config["predictions"])
    dataset, sources = load(config["dataset"], paths)
    classes = dataset.classes
    palette = classes.palette_array()
    st.title("trashseg viewer")
    st.markdown(legend_html(classes), unsafe_allow_html=True)

    with st.sidebar:
        source_index = st.selectbox(
            "predictions", range(len(sources)), format_func=lambda k: sources[k].name, key="source"
        )
        sort = st.radio(
            "order",
            ["worst", "best", "id"],
            format_func={"worst": "worst mIoU first", "best": "best mIoU first", "id": "image id"}.get,
            key="sort",
        )
        class_filter = st.selectbox(
            "class present",
            [None, *range(1, classes.num_classes)],
            format_func=lambda c: "any" if c is None else classes.names[c],
            key="class_filter",
        )
        opacity = st.slider("opacity", 0.0, 1.0, 0.55, 0.05, key="opacity")
        compare = None
        if len(sources) > 1:
            others = [k for k in range(len(sources)) if k != source_index]
            compare = st.selectbox("compare with", others, format_func=lambda k: sources[k].name, key="compare")

    image_scores = select(scores(config["dataset"], paths[source_index]), sort, class_filter)
    if not image_scores:
        st.warning("no image matches the filter")
        return
    chosen = st.selectbox(
        "image",
        range(len(image_scores)),
        key="image",
        format_func=lambda k: (
            f"{image_scores[k].file_name}  (mIoU "
            f"{'-' if image_scores[k].miou is None else f'{image_scores[k].miou:.3f}'})"
        ),
    )
    score = image_scores[chosen]
    image = decoded(config["dataset"], score.image_id)
    predicted = sources[source_index].labels(score.file_name)
    columns = st.columns(3 if dataset.labeled else 2)
    columns[0].image(image, caption=f"image {score.file_name}", width="stretch")
    if dataset.labeled:
        columns[1].image(
            overlay(image, dataset.mask(score.image_id), palette, opacity), caption="ground truth", width="stretch"
        )
    columns[-1].image(
        overlay(image, predicted, palette, opacity),
        caption=f"prediction: {sources[source_index].name}",
        width="stretch",
    )
    if compare is not None:
        other = sources[compare].labels(score.file_name)
        if other is not None:
            left, right = st.columns(2)
            left.image(
                overlay(image, other, palette, opacity), caption=f"prediction: {sources[compare].name}", width="stretch"
            )
            disagree = float((fit(predicted, image.shape[:2]) != fit(other, image.shape[:2])).mean())
            right.image(
                difference(predicted, other, image),
                caption=f"disagreement: {100 * disagree:.1f}% of pixels (red)",
                width="stretch",
            )

    st.subheader("this image")
    shares = pixel_shares(fit(predicted, image.shape[:2]), classes)
    if dataset.labeled:
        from trashseg.components.common.metrics import confusion_matrix, iou_per_class

        truth = dataset.mask(score.image_id)
        shares["IoU"] = iou_per_class(confusion_matrix(truth, fit(predicted, truth.shape), classes.num_classes))
        st.metric("image mIoU", f"{score.miou:.3f}")
    st.dataframe(shares, hide_index=True)

    if dataset.labeled:
        st.subheader("whole set")
        cm = dataset_confusion(dataset, sources[source_index])
        table = per_class_table(cm, classes)
        st.metric("dataset mIoU", f"{np.nanmean(table['IoU']):.3f}")
        st.bar_chart(table.set_index("class")["IoU"])
        st.caption("confusion matrix (rows: truth, columns: prediction), pixels")
        import pandas as pd

        st.dataframe(pd.DataFrame(cm, index=classes.names, columns=classes.names))


main()
