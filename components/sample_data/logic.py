"""sample-data: write a small synthetic COCO dataset (train, unlabeled test, and the test's truth)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from trashseg.components.common.log import get_logger, progress
from trashseg.components.sample_data.params import SampleDataParams
from trashseg.components.sample_data.scenes import make_scene, polygon_area
from trashseg.data_contracts.artifact import atomic_directory
from trashseg.data_contracts.classes import CLASS_NAMES

log = get_logger("trashseg.sample_data")


def _categories() -> list[dict]:
    return [{"id": i, "name": n, "supercategory": n} for i, n in enumerate(CLASS_NAMES) if i > 0]


def _write_split(
    root: Path, name: str, first_id: int, count: int, size: int, rng: np.random.Generator, first_ann_id: int
) -> tuple[list[dict], list[dict]]:
    images_dir = root / name / "images"
    images_dir.mkdir(parents=True)
    images, annotations = [], []
    ann_id = first_ann_id
    for k in progress(range(count), f"sample-data {name}", total=count):
        image_id = first_id + k
        pixels, objects = make_scene(rng, size)
        file_name = f"{name}_{image_id:05d}.jpg"
        Image.fromarray(pixels).save(images_dir / file_name, quality=92)
        images.append({"id": image_id, "file_name": file_name, "width": size, "height": size})
        for class_id, points in objects:
            flat = [round(v, 2) for point in points for v in point]
            xs, ys = flat[0::2], flat[1::2]
            annotations.append(
                {
                    "id": ann_id,
                    "image_id": image_id,
                    "category_id": class_id,
                    "segmentation": [flat],
                    "area": round(polygon_area(points), 2),
                    "bbox": [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)],
                    "iscrowd": 0,
                }
            )
            ann_id += 1
    return images, annotations


def run_sample_data(
    out: Path,
    train_images: int = 96,
    test_images: int = 24,
    image_size: int = 128,
    seed: int = 0,
    overwrite: bool = False,
) -> Path:
    """Write ``out/train`` (labeled), ``out/test`` (unlabeled) and ``out/test_truth`` (the test's annotations).

    Each part is ``annotations.json`` plus ``images/``; ``test_truth`` points at
    ``test/images`` and exists to measure pseudo-labeling, never to train on.
    """
    SampleDataParams(train_images, test_images, image_size, seed).check()
    size = image_size
    rng = np.random.default_rng(seed)
    with atomic_directory(Path(out), overwrite) as tmp:
        train, train_anns = _write_split(tmp, "train", 1, train_images, size, rng, 1)
        test, test_anns = _write_split(tmp, "test", 100_001, test_images, size, rng, 100_001)
        info = {"description": "trashseg synthetic sample data", "seed": seed, "size": size}
        (tmp / "train" / "annotations.json").write_text(
            json.dumps(
                {"info": info, "images": train, "annotations": train_anns, "categories": _categories()}, indent=1
            )
        )
        (tmp / "test" / "annotations.json").write_text(
            json.dumps({"info": info, "images": test, "annotations": [], "categories": _categories()}, indent=1)
        )
        (tmp / "test_truth").mkdir()
        (tmp / "test_truth" / "annotations.json").write_text(
            json.dumps({"info": info, "images": test, "annotations": test_anns, "categories": _categories()}, indent=1)
        )
    log.info("wrote %d train and %d test images (%dx%d) to %s", train_images, test_images, size, size, out)
    return Path(out)
