"""The viewer: its computations, the Streamlit app through streamlit.testing, and the page in headless Chromium."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from trashseg.components.view.data import ImageScore, PredictionSource, difference, fit, overlay, select
from trashseg.data_contracts.classes import ClassTable

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "components" / "view" / "app.py"
ARTIFACTS = REPO / "build" / "test-artifacts"


@pytest.fixture(scope="module")
def viewed(sample_dataset, sample_split, tmp_path_factory):
    """A dataset, two prediction sets (two tiny models) and one as a submission CSV."""
    from trashseg.components.infer.logic import InferParams, run_infer
    from trashseg.components.submit.logic import SubmitParams, run_submit
    from trashseg.components.train.logic import TrainParams, run_train

    root = tmp_path_factory.mktemp("view")
    for seed in (1, 2):
        run_train(
            [sample_dataset],
            sample_split,
            root / f"m{seed}",
            TrainParams(preset="upernet-convnext-tiny", epochs=2, image_size=64, seed=seed),
        )
        run_infer(root / f"m{seed}", sample_dataset, root / f"p{seed}", InferParams())
    run_submit(root / "p1", root / "sub.csv", SubmitParams(submission_size=32))
    return sample_dataset, root / "p1", root / "p2", root / "sub.csv"


def test_overlay_fit_and_difference():
    image = np.full((4, 4, 3), 100, np.uint8)
    labels = np.array([[0, 1], [2, 0]], np.uint8)
    palette = ClassTable().palette_array()
    out = overlay(image, labels, palette, 1.0)
    assert out[0, 0].tolist() == [100, 100, 100]  # background keeps the photo
    assert out[0, 3].tolist() == palette[1].tolist() and out[3, 0].tolist() == palette[2].tolist()
    assert fit(labels, (4, 4)).tolist() == [
        [0, 0, 1, 1],
        [0, 0, 1, 1],
        [2, 2, 0, 0],
        [2, 2, 0, 0],
    ]  # never interpolated
    diff = difference(labels, np.zeros_like(labels), image)
    assert diff[0, 3].tolist() == [255, 40, 40] and diff[0, 0].tolist() != [255, 40, 40]


def test_sort_and_filter():
    scores = [ImageScore("a", 3, 0.5, (0, 1)), ImageScore("b", 1, 0.2, (0, 2)), ImageScore("c", 2, None, (0, 1))]
    assert [s.file_name for s in select(scores, "worst", None)] == ["b", "a", "c"]
    assert [s.file_name for s in select(scores, "best", None)] == ["a", "b", "c"]
    assert [s.file_name for s in select(scores, "id", 1)] == ["c", "a"]


@pytest.mark.slow
def test_submission_csv_is_a_prediction_source(viewed):
    dataset_dir, p1, _, csv_path = viewed
    from trashseg.data_contracts.dataset import Dataset
    from trashseg.data_contracts.predictions import Predictions

    source = PredictionSource(csv_path, ClassTable())
    dataset, predictions = Dataset(dataset_dir), Predictions(p1)
    first = dataset.images.iloc[0]
    labels = source.labels(first.file_name)
    assert labels.shape == (32, 32)
    assert np.array_equal(labels, predictions.labels(int(first.image_id))[::2, ::2])


def _app(monkeypatch, dataset, predictions):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv(
        "TRASHSEG_VIEW_CONFIG", json.dumps({"dataset": str(dataset), "predictions": [str(p) for p in predictions]})
    )
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.run()
    assert not app.exception, app.exception
    return app


def _captions(app) -> list[str]:
    return [img.caption for element in app.get("image") for img in element.proto.imgs]


@pytest.mark.slow
def test_app_shows_images_legend_and_metrics(viewed, monkeypatch):
    dataset, p1, _, _ = viewed
    app = _app(monkeypatch, dataset, [p1])
    assert app.title[0].value == "trashseg viewer"
    assert any("Plastic bag" in m.value for m in app.markdown)  # the legend
    assert [m.label for m in app.metric] == ["image mIoU", "dataset mIoU"]
    captions = _captions(app)
    assert len(captions) == 3 and captions[1] == "ground truth" and captions[2].startswith("prediction: ")
    first_label = app.selectbox(key="image").options[0]
    app.radio(key="sort").set_value("id").run()
    assert not app.exception
    assert app.selectbox(key="image").options[0] != first_label or len(app.selectbox(key="image").options) == 1
    app.slider(key="opacity").set_value(0.2).run()
    app.selectbox(key="class_filter").set_value(1).run()
    assert not app.exception


@pytest.mark.slow
def test_app_compares_two_prediction_sets_and_a_csv(viewed, monkeypatch):
    dataset, p1, p2, csv_path = viewed
    app = _app(monkeypatch, dataset, [p1, p2, csv_path])
    captions = _captions(app)
    assert any(c.startswith("disagreement:") for c in captions)
    app.selectbox(key="source").set_value(2).run()  # the CSV, 32x32, shown against 64x64 images
    assert not app.exception


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_viewer_renders_in_headless_chromium(viewed):
    from tests.browser import chromium_page, chromium_path, screenshot, wait_for

    chromium = chromium_path()
    if chromium is None:
        pytest.skip("no chromium (Debian package 'chromium'; .ci/run installs it)")
    dataset, p1, _, _ = viewed
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trashseg.components.cli",
            "view",
            "--dataset",
            str(dataset),
            "--predictions",
            str(p1),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the viewer did not start")
        with chromium_page(chromium) as page:
            page.goto(f"http://127.0.0.1:{port}/")
            rendered = wait_for(
                page,
                "document.body.innerText.includes('dataset mIoU') && "
                "document.querySelectorAll('img').length >= 3 && "
                "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)",
                timeout=90,
            )
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            screenshot(page, ARTIFACTS / "viewer.png")
            assert rendered, "the overlay and metrics did not render"
            text = page.inner_text("body")
            assert "trashseg viewer" in text
            assert "Plastic bag" in text and page.locator(".trashseg-legend").count() == 1
            assert "image mIoU" in text and "dataset mIoU" in text
            assert page.evaluate("document.images.length") >= 3
        assert (ARTIFACTS / "viewer.png").stat().st_size > 10_000
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_html_reports_are_self_contained_and_render(learn_data, tmp_path):
    """The split, training and evaluation reports (Output[HTML] in Kubeflow) open in a plain browser with no network."""
    import re

    from tests.browser import chromium_page, chromium_path, screenshot
    from trashseg.components.evaluate.logic import run_evaluate
    from trashseg.components.evaluate.report import evaluation_report
    from trashseg.components.infer.logic import InferParams, run_infer
    from trashseg.components.split.report import split_report
    from trashseg.components.train.logic import TrainParams, run_train
    from trashseg.components.train.report import training_report

    dataset, split = learn_data
    run_train(
        [dataset], split, tmp_path / "model", TrainParams(preset="upernet-convnext-tiny", epochs=2, image_size=64)
    )
    run_infer(tmp_path / "model", dataset, tmp_path / "pred", InferParams())
    run_evaluate(tmp_path / "pred", dataset, tmp_path / "metrics")
    pages = {
        "split": split_report(split),
        "training": training_report(tmp_path / "model"),
        "evaluation": evaluation_report(tmp_path / "metrics", tmp_path / "pred", dataset),
    }
    for name, html in pages.items():
        assert not re.search(r"(src|href)=['\"]?(https?:)?//", html), f"{name} report links outside itself"
        assert "<script" not in html
        (tmp_path / f"{name}.html").write_text(html)
    assert pages["evaluation"].count("data:image/png;base64,") == 18  # 6 worst images x (image, truth, prediction)
    chromium = chromium_path()
    if chromium is None:
        pytest.skip("no chromium to render the reports")
    with chromium_page(chromium) as page:
        for name in pages:
            page.goto((tmp_path / f"{name}.html").as_uri())
            assert page.evaluate("document.readyState") == "complete"
            assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
            assert page.locator("table").count() >= 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        screenshot(page, ARTIFACTS / "evaluation_report.png")
