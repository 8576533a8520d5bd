"""augment: copy-paste of rare classes, as in the report, without leaking the validation fold.

Canvases are the training-fold images with the largest share of Background;
pieces are the instances of the chosen classes cut from training-fold images by
their own annotation masks. Each new image is one canvas with one pasted piece,
scaled and rotated at random; the semantic mask is updated and the pasted
object gets a COCO annotation (compressed RLE). The output dataset holds only
the new images, records where each came from, and is tied to its split and
fold so train refuses it for another fold.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from pycocotools import mask as mask_utils

from trashseg.components.augment.copy_paste import Piece, cut_piece, paste, transform_piece
from trashseg.components.augment.params import AugmentParams
from trashseg.components.common.log import get_logger, progress
from trashseg.data_contracts.artifact import Manifest, atomic_directory, prepare_output
from trashseg.data_contracts.dataset import CONTRACT as DATASET_CONTRACT
from trashseg.data_contracts.dataset import Dataset, DatasetWriter, ImageEntry
from trashseg.data_contracts.errors import ContractError, ParameterError
from trashseg.data_contracts.split import Split

log = get_logger("trashseg.augment")


def background_share(mask: np.ndarray) -> float:
    return float((mask == 0).mean())


def collect_pieces(dataset: Dataset, train_ids: set[int], class_id: int) -> list[Piece]:
    rows = dataset.annotations[
        (dataset.annotations["category_id"] == class_id) & dataset.annotations["image_id"].isin(train_ids)
    ]
    pieces = []
    for row in rows.sort_values("id").itertuples(index=False):
        piece = cut_piece(
            dataset.image(int(row.image_id)), json.loads(row.segmentation), int(row.image_id), int(row.id), class_id
        )
        if piece is not None:
            pieces.append(piece)
    return pieces


def encode_png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def run_augment(
    dataset_dir: Path, split_dir: Path, out: Path, params: AugmentParams, overwrite: bool = False
) -> Manifest:
    params.check()
    inputs = [Path(dataset_dir), Path(split_dir)]
    prepare_output(Path(out), overwrite, DATASET_CONTRACT, inputs)
    dataset, split = Dataset(dataset_dir), Split(split_dir)
    if not dataset.labeled:
        raise ContractError(dataset_dir, "copy-paste needs a labeled dataset")
    lo, hi = params.paste_scale
    train_ids = sorted(split.partition(dataset.content_hash, dataset.path, dataset.image_ids, params.fold)[0])
    class_ids = {}
    for name in params.paste_classes:
        class_id = dataset.classes.id_of(name)
        if class_id is None or class_id == 0:
            raise ParameterError(
                "--paste-classes", f"unknown class {name!r} (known: {', '.join(dataset.classes.names[1:])})"
            )
        class_ids[name] = class_id
    counts = {name: params.count_of(name) for name in params.paste_classes}
    unknown = set(params.paste_counts) - set(class_ids)
    if unknown:
        raise ParameterError("--paste-counts", f"count given for {sorted(unknown)}, which is not in --paste-classes")

    canvases = sorted(train_ids, key=lambda i: (-background_share(dataset.mask(i)), i))
    rng = np.random.default_rng(params.seed)
    next_image_id = max(dataset.image_ids) + 1
    next_ann_id = int(dataset.annotations["id"].max()) + 1 if len(dataset.annotations) else 1
    rows, made = [], 0
    producer = {"stage": "augment", "params": {**asdict(params), "paste_counts": counts}}
    with atomic_directory(Path(out), overwrite, DATASET_CONTRACT, inputs) as tmp:
        writer = DatasetWriter(tmp, dataset.classes, labeled=True, producer=producer)
        for name, class_id in class_ids.items():
            pieces = collect_pieces(dataset, set(train_ids), class_id)
            if not pieces:
                log.warning("no %s instance in the training folds: nothing to paste", name)
                continue
            for _ in progress(range(counts[name]), f"copy-paste {name}"):
                canvas_id = canvases[made % len(canvases)]
                piece = pieces[int(rng.integers(len(pieces)))]
                canvas, canvas_mask = dataset.image(canvas_id).copy(), dataset.mask(canvas_id).copy()
                scale, angle = float(rng.uniform(lo, hi)), float(rng.uniform(-params.paste_rotate, params.paste_rotate))
                image_piece, mask_piece = transform_piece(piece, scale, angle, min(canvas_mask.shape))
                top = int(rng.integers(0, canvas_mask.shape[0] - mask_piece.shape[0] + 1))
                left = int(rng.integers(0, canvas_mask.shape[1] - mask_piece.shape[1] + 1))
                pasted = paste(canvas, canvas_mask, image_piece, mask_piece, class_id, top, left)
                rle = mask_utils.encode(np.asfortranarray(pasted.astype(np.uint8)))
                rows.append(
                    {
                        "id": next_ann_id,
                        "image_id": next_image_id,
                        "category_id": class_id,
                        "area": float(pasted.sum()),
                        "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                        "iscrowd": 0,
                        "segmentation": json.dumps({"size": list(pasted.shape), "counts": rle["counts"].decode()}),
                    }
                )
                provenance = {
                    "copy_paste": {
                        "canvas": canvas_id,
                        "fold": params.fold,
                        "pieces": [
                            {
                                "source_image": piece.source_image,
                                "annotation": piece.annotation_id,
                                "class_id": class_id,
                                "scale": round(scale, 4),
                                "angle": round(angle, 3),
                                "top": top,
                                "left": left,
                                "pixels": int(pasted.sum()),
                            }
                        ],
                    }
                }
                writer.add(
                    ImageEntry(
                        next_image_id,
                        f"copypaste_{next_image_id}.png",
                        canvas_mask.shape[1],
                        canvas_mask.shape[0],
                        encode_png(canvas),
                        1,
                        provenance,
                        canvas_mask,
                    )
                )
                next_image_id += 1
                next_ann_id += 1
                made += 1
        manifest = writer.finish(
            pd.DataFrame(rows) if rows else None,
            extra={
                "training_only": True,
                "split_hash": split.content_hash,
                "fold": params.fold,
                "source_dataset_hash": dataset.content_hash,
            },
        )
    log.info("wrote %d copy-paste images to %s", made, out)
    return manifest
