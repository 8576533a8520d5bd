"""split: the report's StratifiedGroupKFold (label = category, group = image).

Stratifying annotations while grouping by image keeps every image in one fold
and each validation fold close to the whole set's class ratios.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from trashseg.components.common.coco import image_file_names
from trashseg.components.common.log import get_logger, progress
from trashseg.components.split.params import SplitParams
from trashseg.data_contracts.artifact import Manifest, atomic_directory, prepare_output
from trashseg.data_contracts.dataset import Dataset
from trashseg.data_contracts.errors import ContractError, ParameterError
from trashseg.data_contracts.split import CONTRACT as SPLIT_CONTRACT
from trashseg.data_contracts.split import WHOLE_SET, write_split

log = get_logger("trashseg.split")


def assign_folds(image_ids: list[int], annotations: pd.DataFrame, num_folds: int, seed: int) -> dict[int, int]:
    """image_id -> fold. Annotated images via StratifiedGroupKFold; the rest round-robin, seeded."""
    annotated = sorted(set(int(i) for i in annotations["image_id"])) if len(annotations) else []
    fold_of: dict[int, int] = {}
    if annotated:
        if len(annotated) < num_folds:
            raise ParameterError("--folds", f"only {len(annotated)} annotated images for {num_folds} folds")
        ordered = annotations.sort_values("id", kind="stable")
        labels = ordered["category_id"].to_numpy()
        rare = {int(c): int(n) for c, n in zip(*np.unique(labels, return_counts=True)) if n < num_folds}
        if rare:
            log.warning("classes with fewer annotations than folds cannot appear in every fold: %s", rare)
        splitter = StratifiedGroupKFold(n_splits=num_folds, shuffle=True, random_state=seed)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            folds = list(splitter.split(np.zeros(len(ordered)), labels, ordered["image_id"].to_numpy()))
        for fold, (_, val_idx) in enumerate(folds):
            for image_id in ordered["image_id"].to_numpy()[val_idx]:
                fold_of[int(image_id)] = fold
    rest = sorted(set(image_ids) - set(fold_of))
    rng = np.random.default_rng(seed)
    rng.shuffle(rest)
    # Start the round-robin at the folds with fewest images so sizes stay even.
    counts = np.bincount(list(fold_of.values()), minlength=num_folds)
    order = list(np.argsort(counts, kind="stable"))
    for k, image_id in enumerate(rest):
        fold_of[int(image_id)] = int(order[k % num_folds])
    return fold_of


def fold_statistics(dataset: Dataset, fold_of: dict[int, int], num_folds: int) -> pd.DataFrame:
    """Per fold and for the whole set: images, annotations and pixels of each class, with shares."""
    num_classes = dataset.classes.num_classes
    pixels = np.zeros((num_folds, num_classes), dtype=np.int64)
    images = np.zeros((num_folds, num_classes), dtype=np.int64)
    if dataset.labeled:
        for image_id in progress(dataset.image_ids, "split: pixel statistics"):
            counts = np.bincount(dataset.mask(image_id).ravel(), minlength=256)[:num_classes]
            pixels[fold_of[image_id]] += counts
            images[fold_of[image_id]] += counts > 0
    anns = np.zeros((num_folds, num_classes), dtype=np.int64)
    for image_id, class_id in zip(dataset.annotations["image_id"], dataset.annotations["category_id"]):
        anns[fold_of[int(image_id)], int(class_id)] += 1
    rows = []
    for fold, (p, a, n) in enumerate(zip(pixels, anns, images)):
        rows.append((fold, p, a, n))
    rows.append((WHOLE_SET, pixels.sum(0), anns.sum(0), images.sum(0)))
    records = []
    for fold, p, a, n in rows:
        for class_id in range(num_classes):
            records.append(
                {
                    "fold": fold,
                    "class_id": class_id,
                    "class_name": dataset.classes.names[class_id],
                    "images": int(n[class_id]),
                    "annotations": int(a[class_id]),
                    "annotation_share": float(a[class_id] / a.sum()) if a.sum() else 0.0,
                    "pixels": int(p[class_id]),
                    "pixel_share": float(p[class_id] / p.sum()) if p.sum() else 0.0,
                }
            )
    return pd.DataFrame(records)


def format_fold_table(stats: pd.DataFrame) -> str:
    """Annotation shares per fold beside the whole set, one class a row (percent)."""
    table = stats.pivot(index="class_name", columns="fold", values="annotation_share")
    table = table.reindex(stats.drop_duplicates("class_id").sort_values("class_id")["class_name"])
    table.columns = ["all" if c == WHOLE_SET else f"fold {c}" for c in table.columns]
    table = table[["all"] + [c for c in table.columns if c != "all"]]
    return (table * 100).round(1).to_string()


def given_validation_folds(dataset: Dataset, validation_coco: Path) -> dict[int, int]:
    """image_id -> fold from a validation file the user gives: its images fold 0, every other image fold 1.

    The file's images are matched to the dataset's by file_name (the same images root); one that is not in the
    dataset is refused, naming it, since scoring it would need an image the model may have trained on elsewhere.
    """
    by_name = {str(r.file_name): int(r.image_id) for r in dataset.images.itertuples(index=False)}
    validation = set()
    for index, name in enumerate(image_file_names(validation_coco)):
        if name not in by_name:
            raise ContractError(
                validation_coco,
                f"image {name!r} is not in the training dataset ({len(by_name)} images): a validation file "
                "lists images of the training file",
                record=f"images[{index}]",
                field="file_name",
            )
        validation.add(by_name[name])
    if len(validation) == len(by_name):
        raise ContractError(
            validation_coco, "lists every image of the training dataset: nothing would be left to train on"
        )
    return {image_id: 0 if image_id in validation else 1 for image_id in dataset.image_ids}


def run_split(
    dataset_dir: Path,
    out: Path,
    params: SplitParams | None = None,
    overwrite: bool = False,
    validation_coco: Path | None = None,
) -> Manifest:
    """Folds for ``dataset_dir``: StratifiedGroupKFold, or with ``validation_coco`` the user's own validation images as
    fold 0 and the rest as fold 1 (then ``folds`` and ``seed`` do not apply, and the log says so)."""
    params = params or SplitParams()
    params.check()
    num_folds, seed = params.folds, params.seed
    inputs = [Path(dataset_dir), *([Path(validation_coco)] if validation_coco else [])]
    prepare_output(Path(out), overwrite, SPLIT_CONTRACT, inputs)
    dataset = Dataset(dataset_dir)
    producer = {"stage": "split", "params": {"folds": num_folds, "seed": seed}}
    if validation_coco:
        fold_of, num_folds = given_validation_folds(dataset, Path(validation_coco)), 2
        producer["params"] = {"validation": Path(validation_coco).name}
        log.info(
            "fold 0 = the %d images of %s, fold 1 = the other %d (--folds and --seed do not apply)",
            sum(f == 0 for f in fold_of.values()),
            Path(validation_coco).name,
            sum(f == 1 for f in fold_of.values()),
        )
    else:
        if len(dataset.image_ids) < num_folds:
            raise ContractError(
                dataset_dir,
                f"{len(dataset.image_ids)} images cannot fill {num_folds} folds: need at least one image per fold",
                field="folds",
            )
        fold_of = assign_folds(dataset.image_ids, dataset.annotations, num_folds, seed)
    folds = pd.DataFrame({"image_id": dataset.image_ids, "fold": [fold_of[i] for i in dataset.image_ids]})
    stats = fold_statistics(dataset, fold_of, num_folds)
    log.info("annotation share per class (%%), whole set and each validation fold:\n%s", format_fold_table(stats))
    with atomic_directory(Path(out), overwrite, SPLIT_CONTRACT, inputs) as tmp:
        manifest = write_split(tmp, folds, stats, num_folds, seed, dataset.content_hash, producer)
    log.info("wrote split %s: %s images per fold", out, np.bincount(folds["fold"], minlength=num_folds).tolist())
    return manifest
