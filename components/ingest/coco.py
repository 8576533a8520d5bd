"""Reading and checking a COCO annotation file, with errors that name file, record and field."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trashseg.components.common.coco import load_json, normalise_file_name
from trashseg.components.common.log import get_logger
from trashseg.data_contracts.classes import ClassTable, normalise_name
from trashseg.data_contracts.errors import ContractError

log = get_logger("trashseg.ingest")

# Category names that mean "no object" in re-exported or pseudo-label files (the competition baseline spells it
# "Backgroud"): such a category is dropped and its pixels stay Background.
BACKGROUND_NAMES = {"background", "backgroud", "unknown"}

# Polygon points may sit this far outside the image (annotation tools often
# put a vertex on the outer edge of the last pixel, or half a pixel past it).
EDGE_TOLERANCE_PX = 1.0


@dataclass
class CocoImage:
    image_id: int
    file_name: str
    width: int
    height: int


@dataclass
class CocoAnnotation:
    ann_id: int
    image_id: int
    class_id: int
    segmentation: Any
    area: float | None
    bbox: list[float] | None
    iscrowd: int


@dataclass
class CocoFile:
    path: Path
    images: list[CocoImage]
    annotations: list[CocoAnnotation]
    category_to_class: dict[int, int]
    has_annotations_key: bool
    by_image: dict[int, list[CocoAnnotation]] = field(default_factory=dict)


def _require(record: dict, key: str, path: Path, where: str, kinds: tuple[type, ...]) -> Any:
    if not isinstance(record, dict):
        raise ContractError(path, f"expected an object, got {type(record).__name__}", record=where)
    if key not in record:
        raise ContractError(path, "missing key", record=where, field=key)
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, kinds):
        names = "/".join(k.__name__ for k in kinds)
        raise ContractError(
            path, f"expected {names}, got {type(value).__name__} {value!r:.60}", record=where, field=key
        )
    return value


def parse_categories(data: dict, path: Path, classes: ClassTable) -> dict[int, int | None]:
    """COCO category id -> project class id, matched by name; None for a background or unknown category.

    A category named Background, Backgroud or UNKNOWN (case and spacing ignored), or the category with id 0 when its
    name is no object class, is dropped with one log line: its annotations paint nothing, so their pixels stay
    Background. Any other name the classes do not know is refused, naming it.
    """
    categories = data.get("categories")
    if not isinstance(categories, list):
        raise ContractError(path, "missing or not a list", field="categories")
    mapping: dict[int, int | None] = {}
    for index, category in enumerate(categories):
        where = f"categories[{index}]"
        cat_id = _require(category, "id", path, where, (int,))
        name = _require(category, "name", path, f"category {cat_id}", (str,))
        if cat_id in mapping:
            raise ContractError(path, "duplicate category id", record=f"category {cat_id}", field="id")
        class_id = classes.id_of(name)
        if class_id == 0 or normalise_name(name) in BACKGROUND_NAMES or (cat_id == 0 and class_id is None):
            log.info(
                "%s: category %d %r is background: its annotations are left as %s",
                path.name,
                cat_id,
                name,
                classes.names[0],
            )
            mapping[cat_id] = None
            continue
        if class_id is None:
            valid = ", ".join(classes.names[1:])
            raise ContractError(
                path,
                f"unknown class name {name!r} (known object classes: {valid}; pass --classes for another list)",
                record=f"category {cat_id}",
                field="name",
            )
        mapping[cat_id] = class_id
    return mapping


def parse_images(data: dict, path: Path) -> list[CocoImage]:
    images = data.get("images")
    if not isinstance(images, list):
        raise ContractError(path, "missing or not a list", field="images")
    seen_ids: set[int] = set()
    seen_names: dict[str, int] = {}
    parsed = []
    for index, record in enumerate(images):
        image_id = _require(record, "id", path, f"images[{index}]", (int,))
        where = f"image {image_id}"
        file_name = normalise_file_name(_require(record, "file_name", path, where, (str,)))
        width = _require(record, "width", path, where, (int,))
        height = _require(record, "height", path, where, (int,))
        if image_id in seen_ids:
            raise ContractError(path, "duplicate image id", record=where, field="id")
        if file_name in seen_names:
            raise ContractError(
                path,
                f"file_name {file_name!r} also used by image {seen_names[file_name]}",
                record=where,
                field="file_name",
            )
        if width <= 0 or height <= 0:
            raise ContractError(
                path, f"width and height must be positive, got {width}x{height}", record=where, field="width"
            )
        seen_ids.add(image_id)
        seen_names[file_name] = image_id
        parsed.append(CocoImage(image_id, file_name, width, height))
    return parsed


def _check_polygons(segmentation: list, image: CocoImage, path: Path, where: str) -> None:
    if not segmentation:
        raise ContractError(path, "empty polygon list", record=where, field="segmentation")
    for k, polygon in enumerate(segmentation):
        if not isinstance(polygon, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in polygon
        ):
            raise ContractError(
                path,
                f"polygon {k} must be a flat list of numbers [x1, y1, x2, y2, ...]",
                record=where,
                field="segmentation",
            )
        if len(polygon) % 2 or len(polygon) < 6:
            raise ContractError(
                path,
                f"polygon {k} has {len(polygon) / 2:g} points, needs at least 3 (x, y) pairs",
                record=where,
                field="segmentation",
            )
        if not all(math.isfinite(v) for v in polygon):
            raise ContractError(path, f"polygon {k} has a non-finite coordinate", record=where, field="segmentation")
        xs, ys = polygon[0::2], polygon[1::2]
        tol = EDGE_TOLERANCE_PX
        if min(xs) < -tol or min(ys) < -tol or max(xs) > image.width + tol or max(ys) > image.height + tol:
            raise ContractError(
                path,
                f"polygon {k} reaches outside the {image.width}x{image.height} image "
                f"(x {min(xs):g}..{max(xs):g}, y {min(ys):g}..{max(ys):g})",
                record=where,
                field="segmentation",
            )


def _check_rle(segmentation: dict, image: CocoImage, path: Path, where: str) -> None:
    size = segmentation.get("size")
    counts = segmentation.get("counts")
    if not (isinstance(size, list) and len(size) == 2):
        raise ContractError(path, "RLE needs 'size': [height, width]", record=where, field="segmentation.size")
    if list(size) != [image.height, image.width]:
        raise ContractError(
            path,
            f"RLE size {size} differs from the image's [height, width] = [{image.height}, {image.width}]",
            record=where,
            field="segmentation.size",
        )
    if isinstance(counts, list):
        if not all(isinstance(c, int) and c >= 0 for c in counts) or sum(counts) != image.height * image.width:
            raise ContractError(
                path,
                "uncompressed RLE counts must be non-negative integers summing to height*width",
                record=where,
                field="segmentation.counts",
            )
    elif not isinstance(counts, str):
        raise ContractError(
            path,
            "RLE counts must be a list (uncompressed) or a string (compressed)",
            record=where,
            field="segmentation.counts",
        )


def parse_annotations(
    data: dict, path: Path, images: list[CocoImage], category_to_class: dict[int, int]
) -> list[CocoAnnotation]:
    raw = data.get("annotations", [])
    if not isinstance(raw, list):
        raise ContractError(path, "not a list", field="annotations")
    by_id = {image.image_id: image for image in images}
    seen: set[int] = set()
    parsed = []
    for index, record in enumerate(raw):
        ann_id = _require(record, "id", path, f"annotations[{index}]", (int,))
        where = f"annotation {ann_id}"
        if ann_id in seen:
            raise ContractError(path, "duplicate annotation id", record=where, field="id")
        seen.add(ann_id)
        image_id = _require(record, "image_id", path, where, (int,))
        category_id = _require(record, "category_id", path, where, (int,))
        segmentation = _require(record, "segmentation", path, where, (list, dict))
        if image_id not in by_id:
            raise ContractError(path, f"refers to unknown image {image_id}", record=where, field="image_id")
        if category_id not in category_to_class:
            raise ContractError(path, f"refers to unknown category {category_id}", record=where, field="category_id")
        if category_to_class[category_id] is None:  # a background category: its pixels stay Background
            continue
        image = by_id[image_id]
        if isinstance(segmentation, list):
            _check_polygons(segmentation, image, path, where)
        else:
            _check_rle(segmentation, image, path, where)
        area = record.get("area")
        if area is not None and (isinstance(area, bool) or not isinstance(area, (int, float))):
            raise ContractError(path, f"expected a number, got {area!r:.40}", record=where, field="area")
        bbox = record.get("bbox")
        if bbox is not None and not (
            isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)
        ):
            raise ContractError(path, "expected [x, y, width, height]", record=where, field="bbox")
        iscrowd = record.get("iscrowd", 0)
        if iscrowd not in (0, 1):
            raise ContractError(path, f"must be 0 or 1, got {iscrowd!r}", record=where, field="iscrowd")
        parsed.append(
            CocoAnnotation(
                ann_id,
                image_id,
                category_to_class[category_id],
                segmentation,
                None if area is None else float(area),
                bbox,
                int(iscrowd),
            )
        )
    return parsed


def read_coco(path: Path, classes: ClassTable) -> CocoFile:
    """Parse and check everything in the JSON before any image is opened."""
    path = Path(path)
    data = load_json(path)
    category_to_class = parse_categories(data, path, classes)
    images = parse_images(data, path)
    annotations = parse_annotations(data, path, images, category_to_class)
    coco = CocoFile(path, images, annotations, category_to_class, "annotations" in data)
    for ann in annotations:
        coco.by_image.setdefault(ann.image_id, []).append(ann)
    return coco
