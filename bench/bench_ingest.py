"""ingest: the report's converter (one pycocotools annToMask per annotation into a numpy canvas) vs ours.

On generated competition-sized images (512x512; the competition had 3,272, the
default here is fewer to fit a 2-core CI machine, see ``images``) and on the
real TACO slice. Both must produce identical masks.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO

from bench.common import TACO, compare, save
from trashseg.components.common.masks import paint_semantic_mask, to_rle
from trashseg.components.ingest.coco import read_coco
from trashseg.data_contracts.classes import ClassTable


def report_masks(coco_path: Path) -> dict[int, np.ndarray]:
    coco = COCO(str(coco_path))
    masks = {}
    for image_id, info in coco.imgs.items():
        mask = np.zeros((info["height"], info["width"]), dtype=np.uint8)
        anns = sorted(coco.loadAnns(coco.getAnnIds(imgIds=image_id)), key=lambda a: (-a["area"], a["id"]))
        for ann in anns:
            mask[coco.annToMask(ann) == 1] = ann["category_id"]
        masks[image_id] = mask
    return masks


def our_masks(coco_path: Path) -> dict[int, np.ndarray]:
    parsed = read_coco(coco_path, ClassTable())
    masks = {}
    for image in parsed.images:
        anns = parsed.by_image.get(image.image_id, [])
        rles = [to_rle(a.segmentation, image.height, image.width) for a in anns]
        masks[image.image_id] = paint_semantic_mask(
            rles,
            [a.class_id for a in anns],
            [a.area for a in anns],
            [a.ann_id for a in anns],
            image.height,
            image.width,
        )
    return masks


def bench_one(coco_path: Path, label: str) -> dict:
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # COCO() prints timing lines
        result = compare(lambda: our_masks(coco_path), lambda: report_masks(coco_path), repeats=3)
    ours, base = result["_results"]
    identical = ours.keys() == base.keys() and all(np.array_equal(ours[k], base[k]) for k in ours)
    result.update(
        {
            "dataset": label,
            "images": len(ours),
            "identical": identical,
            "ours_images_per_s": len(ours) / result["ours_s"],
            "baseline_images_per_s": len(ours) / result["baseline_s"],
        }
    )
    return result


def run(images: int = 400) -> dict:
    from trashseg.components.sample_data.logic import run_sample_data

    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        run_sample_data(Path(tmp) / "data", train_images=images, test_images=1, image_size=512, seed=1)
        figures["generated_512"] = bench_one(
            Path(tmp) / "data" / "train" / "annotations.json", f"sample-data {images} x 512x512"
        )
    if (TACO / "annotations.json").is_file():
        figures["taco"] = bench_one(TACO / "annotations.json", "taco-trash11 (232 x 512x512)")
    figures["note"] = (
        f"generated set: {images} images instead of the competition's 3,272 (2-core machine); per-image rates scale"
    )
    save("ingest", figures)
    return figures


if __name__ == "__main__":
    for key, value in run().items():
        print(key, {k: v for k, v in value.items() if not k.startswith("_")} if isinstance(value, dict) else value)
