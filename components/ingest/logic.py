"""ingest: check a COCO file and its images, paint semantic masks, write a dataset artifact.

EXIF orientation: by default (``exif="transpose"``) annotations refer to the image
as a viewer shows it, with the EXIF orientation applied; that is how TACO and the
usual labeling tools (CVAT, Label Studio, the COCO API demos that call
``exif_transpose``) present photos. ``exif="ignore"`` treats the stored pixel
grid as the truth. Either way the original bytes are kept unchanged and the
orientation to apply is recorded per image, so every later stage decodes the
same upright image the masks were painted for.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd
from PIL import Image, UnidentifiedImageError
from pycocotools import mask as mask_utils

from trashseg.components.common.coco import inside_folder
from trashseg.components.common.log import get_logger, progress
from trashseg.components.common.masks import paint_semantic_mask, to_rle
from trashseg.components.ingest.coco import CocoAnnotation, CocoImage, read_coco
from trashseg.components.ingest.params import IngestParams  # noqa: F401 (re-exported: the stage's knobs)
from trashseg.data_contracts.artifact import Manifest, atomic_directory, prepare_output
from trashseg.data_contracts.classes import ClassTable
from trashseg.data_contracts.dataset import CONTRACT as DATASET_CONTRACT
from trashseg.data_contracts.dataset import DatasetWriter, ImageEntry
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.images import oriented_size

log = get_logger("trashseg.ingest")
EXIF_ORIENTATION_TAG = 0x0112


def resolve_image_path(images_dir: Path, image: CocoImage, coco_path: Path) -> Path:
    """The image's path, refusing names that escape the images directory."""
    where = f"image {image.image_id}"
    relative = Path(image.file_name)
    if relative.is_absolute() or ".." in relative.parts:
        raise ContractError(
            coco_path, f"file_name {image.file_name!r} escapes the images directory", record=where, field="file_name"
        )
    root = images_dir.resolve()
    path = (root / relative).resolve()
    if root != path and root not in path.parents:
        raise ContractError(
            coco_path,
            f"file_name {image.file_name!r} escapes the images directory (symlink)",
            record=where,
            field="file_name",
        )
    return path


def read_image_file(path: Path, image: CocoImage, coco_path: Path, params: IngestParams) -> tuple[bytes, int]:
    """Read the bytes, check they decode safely at the declared size; return (bytes, orientation)."""
    where = f"image {image.image_id}"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ContractError(path, "image file not found", record=where, field="file_name") from None
    except OSError as err:
        raise ContractError(
            path, f"cannot read image file ({err.strerror or err})", record=where, field="file_name"
        ) from err
    import io

    try:
        with Image.open(io.BytesIO(data)) as handle:
            raw_width, raw_height = handle.size
            if raw_width * raw_height > params.max_pixels:
                raise ContractError(
                    path,
                    f"{raw_width}x{raw_height} = {raw_width * raw_height} pixels is over the limit of "
                    f"{params.max_pixels} (--max-pixels)",
                    record=where,
                )
            orientation = int(handle.getexif().get(EXIF_ORIENTATION_TAG, 1)) if params.exif == "transpose" else 1
            handle.load()
    except ContractError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ContractError(path, f"image cannot be decoded ({err})", record=where) from err
    if orientation not in range(1, 9):
        orientation = 1
    width, height = oriented_size(raw_width, raw_height, orientation)
    if (width, height) != (image.width, image.height):
        hint = ""
        if (raw_width, raw_height) == (image.width, image.height) and orientation != 1:
            hint = " (matches the stored pixels: if the annotations ignore EXIF orientation, pass --exif ignore)"
        elif (raw_height, raw_width) == (image.width, image.height) and params.exif == "ignore":
            hint = " (matches the EXIF-rotated image: drop --exif ignore)"
        raise ContractError(
            coco_path,
            f"JSON says {image.width}x{image.height} but {path.name} decodes to {width}x{height}{hint}",
            record=where,
            field="width/height",
        )
    return data, orientation


def annotation_rows(annotations: list[CocoAnnotation], image: CocoImage, rles: list[dict]) -> list[dict]:
    rows = []
    for ann, rle in zip(annotations, rles):
        area = ann.area if ann.area is not None else float(mask_utils.area(rle))
        bbox = ann.bbox if ann.bbox is not None else [float(v) for v in mask_utils.toBbox(rle)]
        rows.append(
            {
                "id": ann.ann_id,
                "image_id": image.image_id,
                "category_id": ann.class_id,
                "area": float(area),
                "bbox": [float(v) for v in bbox],
                "iscrowd": ann.iscrowd,
                "segmentation": json.dumps(ann.segmentation, separators=(",", ":")),
            }
        )
    return rows


def raw_folder_paths(
    folder: str | Path, annotations: str = "annotations.json", images: str = "images"
) -> tuple[Path, Path]:
    """The COCO file and the images root inside an imported data folder, refusing names that leave it.

    A pipeline brings its data in as one folder per URI (``dsl.importer``); the names inside it are parameters, so a
    folder laid out as the competition's (``train_all.json``, ``test.json`` and batch folders beside them, whose
    file_names carry the batch folder: ``images=.``) needs no copy.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ContractError(
            root, "the imported data is not a folder (expected a folder URI holding the COCO JSON and the images)"
        )
    coco_file, images_dir = inside_folder(root, annotations, "annotations"), inside_folder(root, images, "images")
    if not coco_file.is_file():
        raise ContractError(
            coco_file, f"no COCO JSON here ({annotations!r} inside the data folder)", field="annotations"
        )
    if not images_dir.is_dir():
        raise ContractError(images_dir, f"no images folder here ({images!r} inside the data folder)", field="images")
    return coco_file, images_dir


def run_ingest(
    coco_path: Path,
    images_dir: Path,
    out: Path,
    classes: ClassTable | None = None,
    params: IngestParams | None = None,
    overwrite: bool = False,
) -> Manifest:
    """Ingest a COCO dataset into ``out``; on any error nothing is left at ``out``."""
    classes = classes or ClassTable()
    params = params or IngestParams()
    params.check()
    coco_path, images_dir = Path(coco_path), Path(images_dir)
    prepare_output(Path(out), overwrite, DATASET_CONTRACT, [coco_path, images_dir])
    coco = read_coco(coco_path, classes)
    if not images_dir.is_dir():
        raise ContractError(images_dir, "images directory not found")
    labeled = bool(coco.annotations) and not params.unlabeled
    log.info(
        "ingesting %d images, %d annotations from %s (%s)",
        len(coco.images),
        len(coco.annotations),
        coco_path,
        "labeled" if labeled else "unlabeled",
    )
    producer = {"stage": "ingest", "params": {**asdict(params), "coco_file": coco_path.name}}
    all_rows: list[dict] = []
    with atomic_directory(Path(out), overwrite, DATASET_CONTRACT, [coco_path, images_dir]) as tmp:
        writer = DatasetWriter(tmp, classes, labeled, producer)
        for image in progress(coco.images, "ingest"):
            data, orientation = read_image_file(
                resolve_image_path(images_dir, image, coco_path), image, coco_path, params
            )
            annotations = coco.by_image.get(image.image_id, [])
            rles = [to_rle(ann.segmentation, image.height, image.width) for ann in annotations]
            rows = annotation_rows(annotations, image, rles)
            all_rows.extend(rows)
            mask = None
            if labeled:
                mask = paint_semantic_mask(
                    rles,
                    [a.class_id for a in annotations],
                    [r["area"] for r in rows],
                    [a.ann_id for a in annotations],
                    image.height,
                    image.width,
                )
            writer.add(
                ImageEntry(image.image_id, image.file_name, image.width, image.height, data, orientation, None, mask)
            )
        annotations_table = pd.DataFrame(all_rows) if all_rows else None
        manifest = writer.finish(annotations_table)
    log.info("wrote dataset %s (content hash %s)", out, manifest.content_hash[:12])
    return manifest
