"""Shared fixtures: generated sample data, a mutable tiny COCO case, the real TACO slice."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TRASHSEG_PROGRESS", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
TACO = REPO.parent / "shared" / "data" / "taco-trash11"


@pytest.fixture(autouse=True)
def nothing_left_running():
    """Fail a test that leaves a child process or a listening port behind (servers, loaders, launchers)."""
    import psutil

    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    yield
    new = [p for p in me.children(recursive=True) if p.pid not in before]
    _, alive = psutil.wait_procs(new, timeout=10)  # a child that is exiting gets a moment
    alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    # Process.connections: psutil is held below 6 by kserve 0.21 (net_connections came in 6.0)
    listening = [c for c in me.connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    described = [f"{p.pid} {' '.join(p.cmdline()[:4])}" for p in alive]
    for process in alive:
        process.kill()
    assert not alive, f"the test left processes running: {described}"
    assert not listening, f"the test left ports listening: {[c.laddr for c in listening]}"


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory) -> Path:
    """The project's own synthetic data (small: 24 train, 8 test images at 64 px)."""
    from trashseg.components.sample_data.logic import run_sample_data

    return run_sample_data(
        tmp_path_factory.mktemp("sample") / "data", train_images=24, test_images=8, image_size=64, seed=0
    )


@pytest.fixture(scope="session")
def sample_dataset(sample_root, tmp_path_factory) -> Path:
    from trashseg.components.ingest.logic import run_ingest

    out = tmp_path_factory.mktemp("ds") / "train"
    run_ingest(sample_root / "train" / "annotations.json", sample_root / "train" / "images", out)
    return out


@pytest.fixture(scope="session")
def sample_split(sample_dataset, tmp_path_factory) -> Path:
    from trashseg.components.split.logic import SplitParams, run_split

    out = tmp_path_factory.mktemp("split") / "split"
    run_split(sample_dataset, out, SplitParams(folds=3))
    return out


@pytest.fixture(scope="session")
def tiny_model(sample_dataset, sample_split, tmp_path_factory) -> Path:
    """One small trained convnext model the export and serve tests share (read-only: copy it to change it)."""
    from trashseg.components.train.logic import TrainParams, run_train

    out = tmp_path_factory.mktemp("tiny") / "model"
    params = TrainParams(preset="upernet-convnext-tiny", epochs=2, image_size=64, max_steps_per_epoch=3, seed=3)
    run_train([sample_dataset], sample_split, out, params)
    return out


@pytest.fixture(scope="session")
def tiny_export(tiny_model, tmp_path_factory) -> Path:
    """The ONNX export of `tiny_model` (read-only: copy it to change it)."""
    from trashseg.components.export.logic import run_export
    from trashseg.components.export.params import ExportParams

    out = tmp_path_factory.mktemp("tiny") / "exported"
    run_export(tiny_model, out, params=ExportParams(check_images=2))
    return out


@pytest.fixture(scope="session")
def learn_data(tmp_path_factory) -> tuple[Path, Path]:
    """(dataset, 4-fold split) big enough for a tiny model to learn in seconds: 72 images at 64 px."""
    from trashseg.components.ingest.logic import run_ingest
    from trashseg.components.sample_data.logic import run_sample_data
    from trashseg.components.split.logic import SplitParams, run_split

    root = tmp_path_factory.mktemp("learn")
    run_sample_data(root / "data", train_images=72, test_images=4, image_size=64, seed=0)
    run_ingest(root / "data" / "train" / "annotations.json", root / "data" / "train" / "images", root / "ds")
    run_split(root / "ds", root / "split", SplitParams(folds=4))
    return root / "ds", root / "split"


@pytest.fixture(scope="session")
def taco_dir() -> Path:
    if not (TACO / "annotations.json").is_file():
        pytest.skip(f"real data not found at {TACO}")
    return TACO


class CocoCase:
    """A tiny COCO dataset on disk that a test may break in one place."""

    def __init__(self, root: Path):
        self.root = root
        self.images = root / "images"
        self.images.mkdir(parents=True)
        self.json_path = root / "annotations.json"
        rng = np.random.default_rng(1)
        for name in ("a.png", "b.png"):
            Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(self.images / name)
        self.data = {
            "images": [
                {"id": 1, "file_name": "a.png", "width": 30, "height": 20},
                {"id": 2, "file_name": "b.png", "width": 30, "height": 20},
            ],
            "annotations": [
                {
                    "id": 10,
                    "image_id": 1,
                    "category_id": 4,
                    "segmentation": [[2, 2, 20, 2, 20, 15, 2, 15]],
                    "area": 234.0,
                    "bbox": [2, 2, 18, 13],
                    "iscrowd": 0,
                },
                {
                    "id": 11,
                    "image_id": 1,
                    "category_id": 9,
                    "segmentation": [[5, 5, 9, 5, 9, 9, 5, 9]],
                    "area": 16.0,
                    "bbox": [5, 5, 4, 4],
                    "iscrowd": 0,
                },
                {
                    "id": 12,
                    "image_id": 2,
                    "category_id": 2,
                    "segmentation": [[0, 0, 30, 0, 30, 20]],
                    "area": 300.0,
                    "bbox": [0, 0, 30, 20],
                    "iscrowd": 0,
                },
            ],
            "categories": [{"id": 4, "name": "Metal"}, {"id": 9, "name": "Battery"}, {"id": 2, "name": "Paper"}],
        }

    def write(self) -> Path:
        self.json_path.write_text(json.dumps(self.data))
        return self.json_path


@pytest.fixture
def coco_case(tmp_path) -> CocoCase:
    return CocoCase(tmp_path / "coco")


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Report the container stage's build and run times (collected by tests/containers/test_containers.py)."""
    import json
    import sys

    module = sys.modules.get("tests.containers.test_containers")
    timings = getattr(module, "TIMINGS", None)
    if timings:
        terminalreporter.write_sep("-", "container build and run times (s)")
        terminalreporter.write_line(json.dumps({k: round(v, 1) for k, v in timings.items()}))
        out = REPO / "build" / "test-artifacts"
        out.mkdir(parents=True, exist_ok=True)
        (out / "container_timings.json").write_text(json.dumps(timings, indent=1))


@pytest.fixture(scope="session")
def competition_dir(taco_dir, tmp_path_factory) -> Path:
    """A folder laid out as the competition's, made from taco-trash11: batch folders of images, train_all.json (every
    labelled image), train.json and val.json (its official split), test.json (no annotations), and the baseline's
    sample_submission.csv, which is only its header. Categories 1-10 with supercategory = name, image ids from 0."""
    data = json.loads((taco_dir / "annotations.json").read_text())
    root = tmp_path_factory.mktemp("competition") / "data"
    images = sorted(data["images"], key=lambda image: image["id"])[:60]
    folders = ["batch_01_vt"] * 24 + ["batch_02_vt"] * 24 + ["batch_03"] * 12
    records, renamed = [], {}
    for new_id, (image, folder) in enumerate(zip(images, folders)):
        name = f"{folder}/{new_id:04d}.jpg"
        (root / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy2(taco_dir / "images" / image["file_name"], root / name)
        renamed[image["id"]] = new_id
        records.append({"id": new_id, "file_name": name, "width": image["width"], "height": image["height"]})
    categories = [{"id": c["id"], "name": c["name"], "supercategory": c["name"]} for c in data["categories"]]
    annotations = [{**a, "image_id": renamed[a["image_id"]]} for a in data["annotations"] if a["image_id"] in renamed]

    def coco(image_records, labelled=True):
        ids = {r["id"] for r in image_records}
        body = {"images": image_records, "categories": categories}
        if labelled:
            body["annotations"] = [a for a in annotations if a["image_id"] in ids]
        return body

    labelled, test = records[:48], records[48:]
    for name, body in (
        ("train_all.json", coco(labelled)),
        ("train.json", coco(labelled[:40])),
        ("val.json", coco(labelled[40:])),
        ("test.json", coco(test, labelled=False)),
    ):
        (root / name).write_text(json.dumps(body))
    (root / "sample_submission.csv").write_text("image_id,PredictionString\n")
    return root
